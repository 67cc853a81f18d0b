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
  OnDamage on_damage = OnDamage::Throw;
  const unsigned char* map = nullptr;
  std::uint64_t size = 0;
  std::string header_json;
  bool complete = false;
  std::uint64_t end_of_frames = 0;
  std::vector<FrameInfo> frames;
  // What is wrong with each frame, found while opening ("" for nothing):
  // only with OnDamage::Continue (with Throw, opening fails instead).
  std::vector<std::string> frame_damage;
  std::vector<std::string> between;               // damage outside any frame (Continue)
  std::vector<std::vector<std::size_t>> by_vcpu;  // intact Branches frames of each vCPU, brctr order

  std::string where(std::uint64_t off, const std::string& why) const {
    return path + ": offset " + std::to_string(off) + ": " + why;
  }
  [[noreturn]] void fail(std::uint64_t off, const std::string& why) const { throw bad_input(where(off, why)); }

  // Runs the checks `f` of frame `i` on open: with Throw their error ends
  // the open, with Continue it is noted against the frame (the first one).
  template <class F>
  void check_on_open(std::size_t i, F&& f) {
    if (on_damage == OnDamage::Throw) return f();
    try {
      f();
    } catch (const Error& e) {
      if (frame_damage[i].empty()) frame_damage[i] = e.what();
    }
  }
  void add_frame(const FrameInfo& fi) {
    frames.push_back(fi);
    frame_damage.emplace_back();
  }

  // What is wrong with the frame header at `off` ("" for nothing): its own
  // CRC, type and length, and the file size. Fills `h`.
  std::string header_problem(std::uint64_t off, fmt::FrameHeader& h) const {
    if (size - off < fmt::kFrameHeaderSize) return "frame header cut short (the log ends here)";
    const unsigned char* p = map + off;
    if (!fmt::header_crc_ok(p)) return "damaged frame header (header CRC mismatch)";
    h = fmt::decode_frame_header(p);
    if (!valid_type(h.type)) return "unknown frame type " + std::to_string(h.type);
    if (h.length > fmt::kMaxPayload) return "frame length " + std::to_string(h.length) + " exceeds the limit";
    return {};
  }
  fmt::FrameHeader header_at(std::uint64_t off) const {
    fmt::FrameHeader h{};
    if (std::string why = header_problem(off, h); !why.empty()) fail(off, why);
    return h;
  }
  // The header of listed frame `f`, which must agree with what the list
  // (the index, or the walk) says of it.
  fmt::FrameHeader header_of(const FrameInfo& f) const {
    fmt::FrameHeader h = header_at(f.offset);
    if (h.type != static_cast<std::uint8_t>(f.type) || h.vcpu != f.vcpu || h.length != f.stored_bytes ||
        h.encoding != f.encoding)
      fail(f.offset, "frame header does not match the index");
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

  // A Header or Marker frame's payload: a JSON object.
  void check_json(std::uint64_t off, const fmt::FrameHeader& h, const char* what) const {
    const unsigned char* p = payload_at(off, h);
    nlohmann::json j = nlohmann::json::parse(p, p + h.length, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail(off, std::string(what) + " frame is not a JSON object");
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

  // What a frame header says of its frame (and a Branches frame's batch
  // header, when the payload is long enough to hold one), unchecked.
  FrameInfo info_of(std::uint64_t off, const fmt::FrameHeader& h) const {
    FrameInfo fi{off, static_cast<FrameType>(h.type), h.vcpu, h.length, 0, 0, 0, h.encoding};
    if (fi.type == FrameType::Branches && h.length >= fmt::kBatchHeaderSize) {
      const unsigned char* b = map + off + fmt::kFrameHeaderSize;
      fi.first_brctr = fmt::get_u64(b);
      fi.first_icount = fmt::get_u64(b + 8);
      fi.count = fmt::get_u32(b + 24);
    }
    return fi;
  }

  // What the list says of frame `f` must fit its type: an encoding it can
  // have; for a batch, a header, 1 .. kMaxBatch records, no more than its
  // bytes can hold uncompressed, and a brctr range that does not wrap.
  // Costs no read of the payload.
  void check_shape(const FrameInfo& f) const {
    if (f.type != FrameType::Branches) {
      if (f.encoding != fmt::kEncNone)
        fail(f.offset, "frame type " + std::to_string(static_cast<int>(f.type)) + " with encoding " +
                           std::to_string(f.encoding));
      return;
    }
    if (f.encoding != fmt::kEncDelta && f.encoding != fmt::kEncDeltaZstd)
      fail(f.offset, "branches frame with unknown encoding " + std::to_string(f.encoding));
    if (f.stored_bytes < fmt::kBatchHeaderSize) fail(f.offset, "branches frame too short for its batch header");
    if (f.count == 0 || f.count > fmt::kMaxBatch)
      fail(f.offset, "branches frame with " + std::to_string(f.count) + " records");
    // Uncompressed, every record takes at least its kind byte.
    if (f.encoding == fmt::kEncDelta &&
        fmt::kBatchHeaderSize + fmt::kStreamsPrefix + std::uint64_t{f.count} > f.stored_bytes)
      fail(f.offset, "branches frame of " + std::to_string(f.stored_bytes) + " bytes cannot hold " +
                         std::to_string(f.count) + " records");
    if (f.first_brctr + (f.count - 1) < f.first_brctr) fail(f.offset, "brctr range overflows");
  }

  // With Continue, after damage at `off` (its message `what`): the next
  // offset where an intact frame header starts (its CRC, a known type, an
  // encoding and a length it can have), noted as damage between frames;
  // nothing when no such header follows. Cost: one CRC of 12 bytes per
  // candidate offset, most offsets rejected by their first byte.
  std::optional<std::uint64_t> resync(std::uint64_t off, const std::string& what) {
    for (std::uint64_t p = off + 1; size - p >= fmt::kFrameHeaderSize; ++p) {
      const unsigned char* q = map + p;
      if (!valid_type(q[0]) || q[1] > fmt::kEncDeltaZstd || fmt::get_u32(q + 4) > fmt::kMaxPayload ||
          !fmt::header_crc_ok(q))
        continue;
      between.push_back(what + "; skipped " + std::to_string(p - off) +
                        " bytes to the next intact frame at offset " + std::to_string(p));
      return p;
    }
    between.push_back(what + "; no intact frame after it (" + std::to_string(size - off) + " bytes unreadable)");
    return std::nullopt;
  }

  // Without a trailer (the tracer died): walk frame headers up to the last
  // whole frame. A frame running past the end is the torn tail and ends
  // the walk; a damaged header inside the file is an error (with Continue:
  // noted, and the walk resynchronises at the next intact frame header).
  void walk() {
    std::uint64_t off = fmt::kPrefixSize;
    while (size - off >= fmt::kFrameHeaderSize) {
      fmt::FrameHeader h{};
      std::string why = header_problem(off, h);
      bool sound = why.empty();  // its length can be trusted
      if (sound && size - off - fmt::kFrameHeaderSize < h.length) break;
      if (sound && h.type == static_cast<std::uint8_t>(FrameType::Header) && off != fmt::kPrefixSize)
        why = "a second header frame";
      if (sound && h.type == static_cast<std::uint8_t>(FrameType::End))
        why = off + fmt::kEndFrameSize == size ? "damaged end frame (the trailer fails its checks)"
                                               : "end frame is not at the end of the file";
      if (!why.empty()) {
        if (on_damage == OnDamage::Throw) fail(off, why);
        if (sound) {  // a whole frame with no place here: skip just it
          between.push_back(where(off, why));
          off += fmt::kFrameHeaderSize + h.length;
          continue;
        }
        auto next = resync(off, where(off, why));
        if (!next) break;
        off = *next;
        continue;
      }
      add_frame(info_of(off, h));
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
  // offset it gives is a frame boundary, and for fields that fit the
  // frame's type. An index that fails these is damage to the whole log,
  // with Continue too: nothing it says can be trusted.
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
    std::size_t n = h.length / fmt::kIndexEntrySize;  // bounded by the file's size
    std::uint64_t expect = fmt::kPrefixSize;
    frames.reserve(n + 2);
    for (std::size_t i = 0; i < n; ++i, p += fmt::kIndexEntrySize) {
      std::uint64_t entry_off = index_off + fmt::kFrameHeaderSize + i * fmt::kIndexEntrySize;
      std::string entry = "index entry " + std::to_string(i);
      FrameInfo fi{fmt::get_u64(p), static_cast<FrameType>(p[8]), fmt::get_u16(p + 10), fmt::get_u32(p + 12),
                   fmt::get_u64(p + 16), fmt::get_u64(p + 24), fmt::get_u32(p + 32), p[9]};
      if (fi.offset != expect)
        fail(entry_off, entry + " says a frame starts at " + std::to_string(fi.offset) +
                            ", but the previous one ends at " + std::to_string(expect));
      if (!valid_type(p[8]) || fi.type == FrameType::Index || fi.type == FrameType::End ||
          (fi.type == FrameType::Header) != (i == 0))
        fail(entry_off, entry + " has a bad frame type " + std::to_string(p[8]));
      bool br = fi.type == FrameType::Branches;
      if (fi.stored_bytes > fmt::kMaxPayload || fi.offset + fmt::kFrameHeaderSize + fi.stored_bytes > index_off ||
          (br && fi.stored_bytes < fmt::kBatchHeaderSize))
        fail(entry_off, entry + " has a bad length");
      if (br ? (fi.encoding != fmt::kEncDelta && fi.encoding != fmt::kEncDeltaZstd) : fi.encoding != fmt::kEncNone)
        fail(entry_off, entry + " has a bad encoding");
      if (!br && (fi.count || fi.first_brctr || fi.first_icount))
        fail(entry_off, entry + " gives a frame without branches count " + std::to_string(fi.count) +
                            ", first_brctr " + std::to_string(fi.first_brctr) + ", first_icount " +
                            std::to_string(fi.first_icount) + " (each must be 0)");
      if (fmt::get_u32(p + 36) != 0) fail(entry_off, entry + " has reserved bytes that are not zero");
      expect = fi.offset + fmt::kFrameHeaderSize + fi.stored_bytes;
      add_frame(fi);
    }
    if (n == 0) fail(index_off, "empty index (no header frame)");
    if (expect != index_off) fail(index_off, "index does not cover the frames before it");
    add_frame({index_off, FrameType::Index, 0, h.length, 0, 0, 0, 0});
    add_frame({end_off, FrameType::End, 0, static_cast<std::uint32_t>(fmt::kEndPayloadSize), 0, 0, 0, 0});
    end_of_frames = size;
    complete = true;
  }

  // Every frame but the batches' payloads, as soon as the list is known:
  // shapes, and Marker frames whole (header, CRC, JSON); markers are few
  // and small, so a reader of any part of the log knows them sound.
  void check_frames() {
    for (std::size_t i = 1; i < frames.size(); ++i) {
      const FrameInfo& f = frames[i];
      if (f.type == FrameType::Index || f.type == FrameType::End) continue;  // checked by read_index
      check_on_open(i, [&] {
        check_shape(f);
        if (f.type == FrameType::Marker) check_json(f.offset, header_of(f), "marker");
      });
    }
  }

  // Per-vCPU brctr order: each batch starts after the previous one ends, so
  // frames_overlapping() can binary-search. A batch that breaks it is
  // damaged (the one that comes later in the file).
  void build_vcpu_lists() {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const FrameInfo& f = frames[i];
      if (f.type != FrameType::Branches || !frame_damage[i].empty()) continue;
      if (f.vcpu >= by_vcpu.size()) by_vcpu.resize(f.vcpu + 1u);
      auto& list = by_vcpu[f.vcpu];
      bool in_order = true;
      check_on_open(i, [&] {
        if (list.empty()) return;
        const FrameInfo& prev = frames[list.back()];
        in_order = f.first_brctr >= prev.first_brctr + prev.count;
        if (!in_order)
          fail(f.offset, "vcpu " + std::to_string(f.vcpu) + " batch at brctr " + std::to_string(f.first_brctr) +
                             " overlaps the previous one (brctr " + std::to_string(prev.first_brctr) + ".." +
                             std::to_string(prev.first_brctr + prev.count - 1) + ")");
      });
      if (in_order) list.push_back(i);
    }
  }

  void decode(std::size_t frame, std::vector<Branch>& out) const;
};

void LogReader::Impl::decode(std::size_t frame, std::vector<Branch>& out) const {
  if (frame >= frames.size() || frames[frame].type != FrameType::Branches)
    throw bad_input(path + ": frame " + std::to_string(frame) + " is not a branches frame");
  if (!frame_damage[frame].empty()) throw bad_input(frame_damage[frame]);
  const FrameInfo& fi = frames[frame];
  std::uint64_t off = fi.offset;
  fmt::FrameHeader h = header_of(fi);
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
    // The zstd frame says what it holds: refuse a mismatch before
    // allocating for it.
    unsigned long long declared = ZSTD_getFrameContentSize(raw, stored);
    if (declared == ZSTD_CONTENTSIZE_ERROR) fail(off, "branches frame does not decompress: not a zstd frame");
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != raw_len)
      fail(off, "branches frame decompresses to " + std::to_string(declared) + " bytes, not " +
                    std::to_string(raw_len));
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

LogReader::LogReader(const std::string& path, OnDamage on_damage) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  m.on_damage = on_damage;
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
    m.check_frames();
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
  if (!m.frame_damage[frame].empty()) throw bad_input(m.frame_damage[frame]);
  std::uint64_t off = m.frames[frame].offset;
  fmt::FrameHeader h = m.header_of(m.frames[frame]);
  const unsigned char* p = m.payload_at(off, h);
  return {reinterpret_cast<const char*>(p), h.length};
}

void LogReader::check(std::size_t frame) const {
  const Impl& m = *impl_;
  if (frame >= m.frames.size()) throw bad_input(m.path + ": frame " + std::to_string(frame) + " does not exist");
  if (!m.frame_damage[frame].empty()) throw bad_input(m.frame_damage[frame]);
  if (m.frames[frame].type != FrameType::Branches) return;  // checked whole on open
  thread_local std::vector<Branch> buf;
  m.decode(frame, buf);
}

const std::vector<std::string>& LogReader::damage_between_frames() const { return impl_->between; }

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
