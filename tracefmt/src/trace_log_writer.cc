// The trace log's writer (docs/trace-log.md). Runs inside QEMU on the
// branch-trace plugin's writer thread: no printing, no exit, only
// xentt::Error on failure. Every frame goes to the file with one write(2)
// as soon as it is encoded, so a crash loses at most the frame being written.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "trace_log_format.h"
#include "xentt/base/error.h"
#include "xentt/tracefmt/trace_log.h"

namespace xentt::xtl {

namespace {

struct IndexEntry {
  std::uint64_t offset;
  std::uint8_t type;
  std::uint8_t encoding;
  std::uint16_t vcpu;
  std::uint32_t stored;
  std::uint64_t first_brctr;
  std::uint64_t first_icount;
  std::uint32_t count;
};

// The header JSON with "format_version" set; bad JSON is the caller's bug,
// reported as bad input rather than written to disk.
std::string header_with_version(const std::string& path, const std::string& json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad_input(path + ": trace log header is not a JSON object");
  j["format_version"] = kFormatVersion;
  return j.dump();
}

}  // namespace

struct LogWriter::Impl {
  std::string path;
  Options opt;
  int fd = -1;
  std::uint64_t offset = 0;
  std::vector<IndexEntry> index;
  std::vector<std::uint64_t> next_brctr;   // per vCPU: brctr the next batch must start at or after
  std::vector<std::uint64_t> last_icount;  // per vCPU
  ZSTD_CCtx* zctx = nullptr;
  // Scratch buffers reused across batches (no allocation per frame once warm).
  std::string kinds, icounts, froms, tos, raw, payload;

  void write_all(const unsigned char* hdr, const void* payload, std::size_t len) {
    iovec iov[2] = {{const_cast<unsigned char*>(hdr), hdr ? fmt::kFrameHeaderSize : 0},
                    {const_cast<void*>(payload), len}};
    std::size_t left = iov[0].iov_len + iov[1].iov_len;
    int first = 0;
    while (left) {
      ssize_t w = ::writev(fd, iov + first, 2 - first);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw system_error(path + ": writing the trace log at offset " + std::to_string(offset), errno);
      auto n = static_cast<std::size_t>(w);
      offset += n;
      left -= n;
      while (first < 2 && n >= iov[first].iov_len) n -= iov[first++].iov_len;
      if (first < 2) {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + n;
        iov[first].iov_len -= n;
      }
    }
  }

  void frame(FrameType type, std::uint8_t enc, std::uint16_t vcpu, const std::string& p, std::uint64_t brctr = 0,
             std::uint64_t icount = 0, std::uint32_t count = 0) {
    if (p.size() > fmt::kMaxPayload) throw runtime_error(path + ": trace log frame too large");
    unsigned char hdr[fmt::kFrameHeaderSize];
    auto len = static_cast<std::uint32_t>(p.size());
    fmt::encode_frame_header(hdr, static_cast<std::uint8_t>(type), enc, vcpu, p.data(), len);
    std::uint64_t at = offset;
    write_all(hdr, p.data(), p.size());
    // Indexed only once written, so a failed write never reaches the index.
    index.push_back({at, static_cast<std::uint8_t>(type), enc, vcpu, len, brctr, icount, count});
  }

  // One Branches frame: batch header, then the column streams (kinds, icount
  // deltas, from deltas, to deltas), zstd-compressed as one block. Columns
  // group alike bytes, so zstd finds the repeats of loops and call/return
  // pairs; the deltas make a loop's records identical byte strings.
  void batch(std::uint16_t vcpu, std::span<const Branch> b) {
    // Sized for the worst case (10-byte varints), cut to what was written.
    kinds.resize(b.size()), icounts.resize(10 * b.size()), froms.resize(10 * b.size()), tos.resize(10 * b.size());
    auto* kp = reinterpret_cast<unsigned char*>(kinds.data());
    auto* ip = reinterpret_cast<unsigned char*>(icounts.data());
    auto* fp = reinterpret_cast<unsigned char*>(froms.data());
    auto* tp = reinterpret_cast<unsigned char*>(tos.data());
    std::uint64_t prev_to = 0, prev_icount = b[0].icount;
    for (std::size_t i = 0; i < b.size(); ++i) {
      const Branch& r = b[i];
      auto k = static_cast<std::uint8_t>(r.kind);
      if (k < 1 || k > static_cast<std::uint8_t>(BranchKind::Other))
        throw bad_input(path + ": branch kind " + std::to_string(k) + " at brctr " + std::to_string(r.brctr) +
                        " is not a BranchKind");
      if (r.brctr != b[0].brctr + i)
        throw bad_input(path + ": branches not consecutive: brctr " + std::to_string(r.brctr) + " after " +
                        std::to_string(b[0].brctr + i - 1));
      if (r.icount < prev_icount)
        throw bad_input(path + ": icount goes back at brctr " + std::to_string(r.brctr));
      *kp++ = k;
      if (i) ip = fmt::put_varint(ip, r.icount - prev_icount);
      fp = fmt::put_varint(fp, fmt::zigzag(static_cast<std::int64_t>(r.from - prev_to)));
      tp = fmt::put_varint(tp, fmt::zigzag(static_cast<std::int64_t>(r.to - r.from)));
      prev_to = r.to;
      prev_icount = r.icount;
    }
    icounts.resize(static_cast<std::size_t>(ip - reinterpret_cast<unsigned char*>(icounts.data())));
    froms.resize(static_cast<std::size_t>(fp - reinterpret_cast<unsigned char*>(froms.data())));
    tos.resize(static_cast<std::size_t>(tp - reinterpret_cast<unsigned char*>(tos.data())));
    raw.assign(fmt::kStreamsPrefix, '\0');
    auto* rp = reinterpret_cast<unsigned char*>(raw.data());
    fmt::put_u32(rp, static_cast<std::uint32_t>(icounts.size()));
    fmt::put_u32(rp + 4, static_cast<std::uint32_t>(froms.size()));
    fmt::put_u32(rp + 8, static_cast<std::uint32_t>(tos.size()));
    raw += kinds;
    raw += icounts;
    raw += froms;
    raw += tos;

    payload.assign(fmt::kBatchHeaderSize, '\0');
    auto* hp = reinterpret_cast<unsigned char*>(payload.data());
    fmt::put_u64(hp, b[0].brctr);
    fmt::put_u64(hp + 8, b[0].icount);
    fmt::put_u64(hp + 16, b.back().icount);
    fmt::put_u32(hp + 24, static_cast<std::uint32_t>(b.size()));
    fmt::put_u32(hp + 28, static_cast<std::uint32_t>(raw.size()));
    std::uint8_t enc = static_cast<std::uint8_t>(opt.encoding);
    if (opt.encoding == Encoding::DeltaZstd) {
      std::size_t bound = ZSTD_compressBound(raw.size());
      payload.resize(fmt::kBatchHeaderSize + bound);
      std::size_t n = ZSTD_compressCCtx(zctx, payload.data() + fmt::kBatchHeaderSize, bound, raw.data(), raw.size(),
                                        opt.zstd_level);
      if (ZSTD_isError(n)) throw runtime_error(path + ": zstd: " + ZSTD_getErrorName(n));
      payload.resize(fmt::kBatchHeaderSize + n);
    } else {
      payload += raw;
    }
    frame(FrameType::Branches, enc, vcpu, payload, b[0].brctr, b[0].icount, static_cast<std::uint32_t>(b.size()));
  }

  void finish() {
    std::string p(index.size() * fmt::kIndexEntrySize, '\0');
    auto* q = reinterpret_cast<unsigned char*>(p.data());
    for (const IndexEntry& e : index) {
      fmt::put_u64(q, e.offset);
      q[8] = e.type;
      q[9] = e.encoding;
      fmt::put_u16(q + 10, e.vcpu);
      fmt::put_u32(q + 12, e.stored);
      fmt::put_u64(q + 16, e.first_brctr);
      fmt::put_u64(q + 24, e.first_icount);
      fmt::put_u32(q + 32, e.count);
      fmt::put_u32(q + 36, 0);
      q += fmt::kIndexEntrySize;
    }
    std::uint64_t index_offset = offset;
    frame(FrameType::Index, fmt::kEncNone, 0, p);
    std::string end(fmt::kEndPayloadSize, '\0');
    fmt::put_u64(reinterpret_cast<unsigned char*>(end.data()), index_offset);
    std::memcpy(end.data() + 8, fmt::kEndMagic, 8);
    frame(FrameType::End, fmt::kEncNone, 0, end);
  }
};

LogWriter::LogWriter(const std::string& path, const std::string& header_json)
    : LogWriter(path, header_json, Options{}) {}

LogWriter::LogWriter(const std::string& path, const std::string& header_json, const Options& opt)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  m.opt = opt;
  if (opt.encoding != Encoding::Delta && opt.encoding != Encoding::DeltaZstd)
    throw bad_input(path + ": unknown trace log encoding");
  if (m.opt.max_batch == 0 || m.opt.max_batch > fmt::kMaxBatch) m.opt.max_batch = fmt::kMaxBatch;
  std::string header = header_with_version(path, header_json);
  m.zctx = ZSTD_createCCtx();
  if (!m.zctx) throw runtime_error(path + ": out of memory for zstd");
  m.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (m.fd < 0) {
    int e = errno;
    ZSTD_freeCCtx(m.zctx);
    throw system_error(path + ": cannot create the trace log", e);
  }
  try {
    unsigned char prefix[fmt::kPrefixSize] = {};
    std::memcpy(prefix, fmt::kSignature, 8);
    fmt::put_u32(prefix + 8, kFormatVersion);
    m.write_all(nullptr, prefix, sizeof prefix);
    m.frame(FrameType::Header, fmt::kEncNone, 0, header);
  } catch (...) {
    ::close(m.fd);
    ZSTD_freeCCtx(m.zctx);
    throw;
  }
}

LogWriter::~LogWriter() {
  if (!impl_) return;
  try {
    close();
  } catch (...) {
    // Destructors must not throw; a caller who needs the error calls close().
  }
  ZSTD_freeCCtx(impl_->zctx);
}

void LogWriter::add_branches(std::uint16_t vcpu, std::span<const Branch> b) {
  Impl& m = *impl_;
  if (m.fd < 0) throw runtime_error(m.path + ": trace log already closed");
  if (b.empty()) return;
  if (vcpu >= m.next_brctr.size()) {
    m.next_brctr.resize(vcpu + 1u, 0);
    m.last_icount.resize(vcpu + 1u, 0);
  }
  // The reader relies on each vCPU's frames having ascending, disjoint
  // brctr ranges (binary search); refuse to write a log that breaks it.
  if (b[0].brctr < m.next_brctr[vcpu] || b[0].icount < m.last_icount[vcpu])
    throw bad_input(m.path + ": vcpu " + std::to_string(vcpu) + " batch starting at brctr " +
                    std::to_string(b[0].brctr) + " overlaps or precedes the previous one");
  if (b.back().brctr < b[0].brctr) throw bad_input(m.path + ": brctr overflows in a batch");
  for (std::size_t i = 0; i < b.size(); i += m.opt.max_batch) {
    auto part = b.subspan(i, std::min<std::size_t>(m.opt.max_batch, b.size() - i));
    m.batch(vcpu, part);
    m.next_brctr[vcpu] = part.back().brctr + 1;
    m.last_icount[vcpu] = part.back().icount;
  }
}

void LogWriter::add_marker(std::uint16_t vcpu, const std::string& json) {
  Impl& m = *impl_;
  if (m.fd < 0) throw runtime_error(m.path + ": trace log already closed");
  if (!nlohmann::json::accept(json)) throw bad_input(m.path + ": marker is not JSON: " + json.substr(0, 80));
  m.frame(FrameType::Marker, fmt::kEncNone, vcpu, json);
}

void LogWriter::flush() {
  // Frames are written as they are made; nothing is held back in user space.
}

void LogWriter::close() {
  Impl& m = *impl_;
  if (m.fd < 0) return;
  int fd = m.fd;
  try {
    m.finish();
  } catch (...) {
    ::close(fd);
    m.fd = -1;
    throw;
  }
  m.fd = -1;
  if (::close(fd) != 0) throw system_error(m.path + ": closing the trace log", errno);
}

std::uint64_t LogWriter::bytes_written() const { return impl_->offset; }

}  // namespace xentt::xtl
