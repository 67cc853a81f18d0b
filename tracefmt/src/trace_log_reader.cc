// The trace log's reader (docs/trace-log.md). The file is mmap()ed; the
// constructor checks the prefix, the header frame and the frame list (from
// the index when the trailer is there, else by walking frame headers), and
// payloads are checked (CRC, stream lengths) when a frame is decoded. Every
// problem is a bad_input error naming the file, the offset and the reason.
#include <sys/mman.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "trace_log_format.h"
#include "xentt/base/error.h"
#include "xentt/base/input_file.h"
#include "xentt/tracefmt/trace_log.h"

namespace xentt::xtl {

const char* kind_name(BranchKind k) noexcept {
  switch (k) {
    case BranchKind::CondJump: return "cond";
    case BranchKind::Jump: return "jump";
    case BranchKind::Call: return "call";
    case BranchKind::Return: return "ret";
    case BranchKind::IndirectJump: return "ijump";
    case BranchKind::IndirectCall: return "icall";
    case BranchKind::Interrupt: return "intr";
    case BranchKind::Exception: return "exc";
    case BranchKind::SoftInterrupt: return "softint";
    case BranchKind::EventReturn: return "iret";
    case BranchKind::Other: return "other";
  }
  return "unknown";
}

namespace {

// One decompression context per thread: creating one costs ~100 KB of
// allocation, too much per frame, and a shared one would need a lock.
ZSTD_DCtx* dctx() {
  struct Free {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
  };
  thread_local std::unique_ptr<ZSTD_DCtx, Free> c(ZSTD_createDCtx());
  if (!c) throw runtime_error("out of memory for zstd");
  return c.get();
}

bool valid_type(std::uint8_t t) { return t >= 1 && t <= static_cast<std::uint8_t>(FrameType::End); }

}  // namespace

struct LogReader::Impl {
  std::string path;
  const unsigned char* map = nullptr;
  std::uint64_t size = 0;
  std::string header_json;
  bool complete = false;
  std::uint64_t end_of_frames = 0;
  std::vector<FrameInfo> frames;
  std::vector<std::vector<std::size_t>> by_vcpu;  // Branches frames of each vCPU, brctr order

  [[noreturn]] void fail(std::uint64_t off, const std::string& why) const {
    throw bad_input(path + ": offset " + std::to_string(off) + ": " + why);
  }

  // The frame header at `off`, checked against its own CRC and the file size.
  fmt::FrameHeader header_at(std::uint64_t off) const {
    if (size - off < fmt::kFrameHeaderSize) fail(off, "frame header cut short (the log ends here)");
    const unsigned char* p = map + off;
    if (!fmt::header_crc_ok(p)) fail(off, "damaged frame header (header CRC mismatch)");
    fmt::FrameHeader h = fmt::decode_frame_header(p);
    if (!valid_type(h.type)) fail(off, "unknown frame type " + std::to_string(h.type));
    if (h.length > fmt::kMaxPayload) fail(off, "frame length " + std::to_string(h.length) + " exceeds the limit");
    return h;
  }
  // The payload of the whole frame at `off`, its CRC checked.
  const unsigned char* payload_at(std::uint64_t off, const fmt::FrameHeader& h) const {
    if (size - off - fmt::kFrameHeaderSize < h.length)
      fail(off, "frame of " + std::to_string(h.length) + " bytes runs past the end of the file");
    const unsigned char* p = map + off + fmt::kFrameHeaderSize;
    if (!fmt::frame_crc_ok(map + off, p, h.length)) fail(off, "damaged frame (CRC mismatch)");
    return p;
  }

  void check_prefix() {
    if (size < fmt::kPrefixSize) fail(0, "too short for a trace log (" + std::to_string(size) + " bytes)");
    if (std::memcmp(map, fmt::kSignature, 8) != 0) fail(0, "not a trace log (bad signature)");
    std::uint32_t v = fmt::get_u32(map + 8);
    if (v != kFormatVersion)
      fail(8, "trace log format version " + std::to_string(v) + " is not supported (this reader reads version " +
                  std::to_string(kFormatVersion) + "; use the xentt that wrote it)");
    if (fmt::get_u32(map + 12) != 0) fail(12, "reserved prefix bytes are not zero");
  }

  void read_header_frame() {
    std::uint64_t off = fmt::kPrefixSize;
    if (size - off < fmt::kFrameHeaderSize) fail(off, "no header frame: the log was cut before it");
    fmt::FrameHeader h = header_at(off);
    if (h.type != static_cast<std::uint8_t>(FrameType::Header)) fail(off, "first frame is not a header frame");
    if (h.encoding != fmt::kEncNone) fail(off, "header frame with encoding " + std::to_string(h.encoding));
    const unsigned char* p = payload_at(off, h);
    header_json.assign(reinterpret_cast<const char*>(p), h.length);
    nlohmann::json j = nlohmann::json::parse(header_json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail(off, "header frame is not a JSON object");
    auto v = j.find("format_version");
    if (v == j.end() || !v->is_number_unsigned() || v->get<std::uint64_t>() != kFormatVersion)
      fail(off, "header's format_version is missing or not " + std::to_string(kFormatVersion));
  }

  FrameInfo info_of(std::uint64_t off, const fmt::FrameHeader& h) const {
    FrameInfo fi{off, static_cast<FrameType>(h.type), h.vcpu, h.length, 0, 0, 0, 0};
    if (fi.type == FrameType::Branches) {
      if (h.encoding != fmt::kEncDelta && h.encoding != fmt::kEncDeltaZstd)
        fail(off, "branches frame with unknown encoding " + std::to_string(h.encoding));
      if (h.length < fmt::kBatchHeaderSize) fail(off, "branches frame too short for its batch header");
      const unsigned char* b = map + off + fmt::kFrameHeaderSize;
      fi.first_brctr = fmt::get_u64(b);
      fi.first_icount = fmt::get_u64(b + 8);
      fi.count = fmt::get_u32(b + 24);
      fi.encoding = h.encoding;
    } else if (h.encoding != fmt::kEncNone) {
      fail(off, "frame type " + std::to_string(h.type) + " with encoding " + std::to_string(h.encoding));
    }
    return fi;
  }

  // Without a trailer (the tracer died): walk frame headers up to the last
  // whole frame. A frame running past the end is the torn tail and ends
  // the walk; a damaged header inside the file is an error.
  void walk() {
    std::uint64_t off = fmt::kPrefixSize;
    while (size - off >= fmt::kFrameHeaderSize) {
      fmt::FrameHeader h = header_at(off);
      if (size - off - fmt::kFrameHeaderSize < h.length) break;
      FrameType t = static_cast<FrameType>(h.type);
      if (t == FrameType::Header && off != fmt::kPrefixSize) fail(off, "a second header frame");
      if (t == FrameType::End)
        fail(off, off + fmt::kEndFrameSize == size ? "damaged end frame (the trailer fails its checks)"
                                                   : "end frame is not at the end of the file");
      frames.push_back(info_of(off, h));
      off += fmt::kFrameHeaderSize + h.length;
    }
    end_of_frames = off;
  }

  // The last 32 bytes, if they are a whole, intact End frame: the index offset.
  std::optional<std::uint64_t> trailer() const {
    if (size < fmt::kPrefixSize + 2 * fmt::kFrameHeaderSize + fmt::kEndFrameSize) return std::nullopt;
    std::uint64_t off = size - fmt::kEndFrameSize;
    const unsigned char* p = map + off;
    if (!fmt::header_crc_ok(p)) return std::nullopt;
    fmt::FrameHeader h = fmt::decode_frame_header(p);
    if (h.type != static_cast<std::uint8_t>(FrameType::End) || h.length != fmt::kEndPayloadSize) return std::nullopt;
    if (!fmt::frame_crc_ok(p, p + fmt::kFrameHeaderSize, h.length)) return std::nullopt;
    if (std::memcmp(p + fmt::kFrameHeaderSize + 8, fmt::kEndMagic, 8) != 0) return std::nullopt;
    return fmt::get_u64(p + fmt::kFrameHeaderSize);
  }

  // With a trailer: the frame list comes from the index, checked for
  // contiguity (each entry ends where the next begins) so that every
  // offset it gives is a frame boundary.
  void read_index(std::uint64_t index_off) {
    std::uint64_t end_off = size - fmt::kEndFrameSize;
    if (index_off < fmt::kPrefixSize || index_off >= end_off || end_off - index_off < fmt::kFrameHeaderSize)
      fail(end_off, "end frame points at offset " + std::to_string(index_off) + ", not at an index frame");
    fmt::FrameHeader h = header_at(index_off);
    if (h.type != static_cast<std::uint8_t>(FrameType::Index) || h.encoding != fmt::kEncNone)
      fail(index_off, "not an index frame (the end frame points here)");
    if (index_off + fmt::kFrameHeaderSize + h.length != end_off)
      fail(index_off, "index frame does not end where the end frame begins");
    if (h.length % fmt::kIndexEntrySize) fail(index_off, "index length is not a multiple of 40");
    const unsigned char* p = payload_at(index_off, h);
    std::size_t n = h.length / fmt::kIndexEntrySize;
    std::uint64_t expect = fmt::kPrefixSize;
    frames.reserve(n + 2);
    for (std::size_t i = 0; i < n; ++i, p += fmt::kIndexEntrySize) {
      std::uint64_t entry_off = index_off + fmt::kFrameHeaderSize + i * fmt::kIndexEntrySize;
      FrameInfo fi{fmt::get_u64(p), static_cast<FrameType>(p[8]), fmt::get_u16(p + 10), fmt::get_u32(p + 12),
                   fmt::get_u64(p + 16), fmt::get_u64(p + 24), fmt::get_u32(p + 32), p[9]};
      if (fi.offset != expect)
        fail(entry_off, "index entry " + std::to_string(i) + " says a frame starts at " +
                            std::to_string(fi.offset) + ", but the previous one ends at " + std::to_string(expect));
      if (!valid_type(p[8]) || fi.type == FrameType::Index || fi.type == FrameType::End ||
          (fi.type == FrameType::Header) != (i == 0))
        fail(entry_off, "index entry " + std::to_string(i) + " has a bad frame type " + std::to_string(p[8]));
      if (fi.stored_bytes > fmt::kMaxPayload || fi.offset + fmt::kFrameHeaderSize + fi.stored_bytes > index_off)
        fail(entry_off, "index entry " + std::to_string(i) + " has a bad length");
      if (fi.type == FrameType::Branches ? (fi.encoding != fmt::kEncDelta && fi.encoding != fmt::kEncDeltaZstd)
                                         : fi.encoding != fmt::kEncNone)
        fail(entry_off, "index entry " + std::to_string(i) + " has a bad encoding");
      expect = fi.offset + fmt::kFrameHeaderSize + fi.stored_bytes;
      frames.push_back(fi);
    }
    if (n == 0) fail(index_off, "empty index (no header frame)");
    if (expect != index_off) fail(index_off, "index does not cover the frames before it");
    frames.push_back({index_off, FrameType::Index, 0, h.length, 0, 0, 0, 0});
    frames.push_back({end_off, FrameType::End, 0, static_cast<std::uint32_t>(fmt::kEndPayloadSize), 0, 0, 0, 0});
    end_of_frames = size;
    complete = true;
  }

  // Per-vCPU brctr order: each batch starts after the previous one ends, so
  // frames_overlapping() can binary-search.
  void build_vcpu_lists() {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const FrameInfo& f = frames[i];
      if (f.type != FrameType::Branches) continue;
      if (f.count == 0 || f.count > fmt::kMaxBatch)
        fail(f.offset, "branches frame with " + std::to_string(f.count) + " records");
      if (f.first_brctr + (f.count - 1) < f.first_brctr) fail(f.offset, "brctr range overflows");
      if (f.vcpu >= by_vcpu.size()) by_vcpu.resize(f.vcpu + 1u);
      auto& list = by_vcpu[f.vcpu];
      if (!list.empty()) {
        const FrameInfo& prev = frames[list.back()];
        if (f.first_brctr < prev.first_brctr + prev.count)
          fail(f.offset, "vcpu " + std::to_string(f.vcpu) + " batch at brctr " + std::to_string(f.first_brctr) +
                             " overlaps the previous one (brctr " + std::to_string(prev.first_brctr) + ".." +
                             std::to_string(prev.first_brctr + prev.count - 1) + ")");
      }
      list.push_back(i);
    }
  }

  void decode(std::size_t frame, std::vector<Branch>& out) const;
};

void LogReader::Impl::decode(std::size_t frame, std::vector<Branch>& out) const {
  if (frame >= frames.size() || frames[frame].type != FrameType::Branches)
    throw bad_input(path + ": frame " + std::to_string(frame) + " is not a branches frame");
  const FrameInfo& fi = frames[frame];
  std::uint64_t off = fi.offset;
  fmt::FrameHeader h = header_at(off);
  if (h.type != static_cast<std::uint8_t>(FrameType::Branches) || h.vcpu != fi.vcpu || h.length != fi.stored_bytes ||
      h.encoding != fi.encoding)
    fail(off, "frame header does not match the index");
  const unsigned char* p = payload_at(off, h);
  std::uint64_t brctr = fmt::get_u64(p), icount = fmt::get_u64(p + 8), last_icount = fmt::get_u64(p + 16);
  std::uint32_t count = fmt::get_u32(p + 24), raw_len = fmt::get_u32(p + 28);
  if (brctr != fi.first_brctr || icount != fi.first_icount || count != fi.count)
    fail(off, "batch header does not match the index");
  // Each record takes 1 kind byte and at most 3 ten-byte varints.
  if (raw_len < fmt::kStreamsPrefix + count || raw_len > fmt::kStreamsPrefix + std::uint64_t{count} * 31)
    fail(off, "batch streams of " + std::to_string(raw_len) + " bytes cannot hold " + std::to_string(count) +
                  " records");
  const unsigned char* raw = p + fmt::kBatchHeaderSize;
  std::size_t stored = h.length - fmt::kBatchHeaderSize;
  thread_local std::vector<unsigned char> buf;
  if (h.encoding == fmt::kEncDeltaZstd) {
    buf.resize(raw_len);
    std::size_t n = ZSTD_decompressDCtx(dctx(), buf.data(), raw_len, raw, stored);
    if (ZSTD_isError(n)) fail(off, std::string("branches frame does not decompress: ") + ZSTD_getErrorName(n));
    if (n != raw_len) fail(off, "branches frame decompresses to " + std::to_string(n) + " bytes, not " +
                                    std::to_string(raw_len));
    raw = buf.data();
  } else if (stored != raw_len) {
    fail(off, "branches frame stores " + std::to_string(stored) + " bytes, header says " + std::to_string(raw_len));
  }
  std::uint64_t li = fmt::get_u32(raw), lf = fmt::get_u32(raw + 4), lt = fmt::get_u32(raw + 8);
  if (fmt::kStreamsPrefix + count + li + lf + lt != raw_len) fail(off, "batch stream lengths do not add up");
  const unsigned char* kinds = raw + fmt::kStreamsPrefix;
  const unsigned char *ip = kinds + count, *iend = ip + li;
  const unsigned char *fp = iend, *fend = fp + lf;
  const unsigned char *tp = fend, *tend = tp + lt;

  out.resize(count);
  Branch* o = out.data();
  std::uint64_t prev_to = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint64_t v;
    unsigned k = kinds[i];
    if (k - 1u > static_cast<unsigned>(BranchKind::Other) - 1u)
      fail(off, "record " + std::to_string(i) + ": unknown branch kind " + std::to_string(k));
    if (i) {
      if (!(ip = fmt::get_varint(ip, iend, v))) fail(off, "record " + std::to_string(i) + ": icount stream damaged");
      icount += v;
    }
    if (!(fp = fmt::get_varint(fp, fend, v))) fail(off, "record " + std::to_string(i) + ": from stream damaged");
    std::uint64_t from = prev_to + static_cast<std::uint64_t>(fmt::unzigzag(v));
    if (!(tp = fmt::get_varint(tp, tend, v))) fail(off, "record " + std::to_string(i) + ": to stream damaged");
    std::uint64_t to = from + static_cast<std::uint64_t>(fmt::unzigzag(v));
    o[i] = Branch{from, to, brctr + i, icount, static_cast<BranchKind>(k)};
    prev_to = to;
  }
  if (ip != iend || fp != fend || tp != tend) fail(off, "batch streams have bytes left over");
  if (icount != last_icount) fail(off, "batch's last icount does not match its header");
}

LogReader::LogReader(const std::string& path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  // Never waits on the open (a FIFO opens at once) and refuses what cannot
  // be mapped, naming what it is.
  InputFile f = InputFile::open_regular(path, "a trace log");
  m.size = f.size();
  if (m.size > 0) {
    void* p = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, f.fd(), 0);
    if (p == MAP_FAILED) throw system_error(path + ": cannot map the trace log", errno);
    m.map = static_cast<const unsigned char*>(p);
  }
  f.close();
  try {
    m.check_prefix();
    m.read_header_frame();
    if (auto index_off = m.trailer())
      m.read_index(*index_off);
    else
      m.walk();
    m.build_vcpu_lists();
  } catch (...) {
    if (m.map) ::munmap(const_cast<unsigned char*>(m.map), m.size);
    m.map = nullptr;
    throw;
  }
}

LogReader::~LogReader() {
  if (impl_ && impl_->map) ::munmap(const_cast<unsigned char*>(impl_->map), impl_->size);
}

const std::string& LogReader::path() const { return impl_->path; }
const std::string& LogReader::header_json() const { return impl_->header_json; }
bool LogReader::complete() const { return impl_->complete; }
std::uint64_t LogReader::file_size() const { return impl_->size; }
std::uint64_t LogReader::end_of_frames() const { return impl_->end_of_frames; }
const std::vector<FrameInfo>& LogReader::frames() const { return impl_->frames; }

std::vector<Branch> LogReader::branches(std::size_t frame) const {
  std::vector<Branch> out;
  impl_->decode(frame, out);
  return out;
}
void LogReader::branches(std::size_t frame, std::vector<Branch>& out) const { impl_->decode(frame, out); }

std::string LogReader::json(std::size_t frame) const {
  const Impl& m = *impl_;
  if (frame >= m.frames.size() ||
      (m.frames[frame].type != FrameType::Header && m.frames[frame].type != FrameType::Marker))
    throw bad_input(m.path + ": frame " + std::to_string(frame) + " is not a header or marker frame");
  std::uint64_t off = m.frames[frame].offset;
  fmt::FrameHeader h = m.header_at(off);
  if (h.type != static_cast<std::uint8_t>(m.frames[frame].type) || h.length != m.frames[frame].stored_bytes)
    m.fail(off, "frame header does not match the index");
  const unsigned char* p = m.payload_at(off, h);
  return {reinterpret_cast<const char*>(p), h.length};
}

std::vector<std::size_t> LogReader::frames_overlapping(std::uint16_t vcpu, std::uint64_t lo, std::uint64_t hi) const {
  const Impl& m = *impl_;
  std::vector<std::size_t> r;
  if (vcpu >= m.by_vcpu.size() || lo > hi) return r;
  const auto& list = m.by_vcpu[vcpu];
  // First frame whose last brctr is >= lo; frames are disjoint and ascending.
  auto it = std::partition_point(list.begin(), list.end(), [&](std::size_t f) {
    return m.frames[f].first_brctr + (m.frames[f].count - 1) < lo;
  });
  for (; it != list.end() && m.frames[*it].first_brctr <= hi; ++it) r.push_back(*it);
  return r;
}

std::vector<std::uint16_t> LogReader::vcpus() const {
  std::vector<std::uint16_t> r;
  for (std::size_t v = 0; v < impl_->by_vcpu.size(); ++v)
    if (!impl_->by_vcpu[v].empty()) r.push_back(static_cast<std::uint16_t>(v));
  return r;
}

}  // namespace xentt::xtl
