#include "vm/qemu/log_sums.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "xentt/base/le_bytes.h"
#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"

namespace xentt::qemu {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'X', 'T', 'T', 'S', 'U', 'M', 'S', '\n'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 24;
constexpr uint32_t kMinBlock = 4096;
constexpr uint64_t kMaxBlocks = 65536;

uint32_t block_size_for(uint64_t log_bytes) {
  uint64_t b = kMinBlock;
  while ((log_bytes + b - 1) / b > kMaxBlocks) b *= 2;
  return static_cast<uint32_t>(b);
}

// Reads `path` front to back and hands each block of `block_bytes` (the last
// one shorter) with its CRC to `each`. Returns the bytes read.
uint64_t for_each_block(const fs::path& path, uint32_t block_bytes,
                        const std::function<void(uint64_t index, uint32_t crc)>& each) {
  uint64_t index = 0;
  uint32_t crc = 0;
  uint32_t filled = 0;  // bytes of the current block summed so far
  uint64_t total = stream_file(path, [&](const unsigned char* data, size_t n) {
    for (size_t at = 0; at < n;) {
      size_t take = std::min<size_t>(block_bytes - filled, n - at);
      crc = le::crc32_of(crc, data + at, take);
      at += take;
      filled += static_cast<uint32_t>(take);
      if (filled == block_bytes) {
        each(index++, crc);
        crc = 0;
        filled = 0;
      }
    }
  });
  if (filled) each(index, crc);
  return total;
}

}  // namespace

LogSums compute_log_sums(const fs::path& log) {
  std::error_code ec;
  uint64_t size = fs::file_size(log, ec);
  if (ec) throw system_error("cannot read " + log.string(), ec.value());
  LogSums s;
  s.block_bytes = block_size_for(size);
  s.log_bytes = for_each_block(log, s.block_bytes, [&](uint64_t, uint32_t crc) { s.crcs.push_back(crc); });
  // A log that grew while it was read (a recorder still writing) would get
  // sums of a size nobody can check it against again.
  if (s.log_bytes != size) {
    throw runtime_error(fmt::format("{} changed size while its checksums were taken ({} -> {} bytes)", log.string(),
                                    size, s.log_bytes));
  }
  return s;
}

void write_log_sums(const fs::path& file, const LogSums& sums, unsigned mode) {
  write_file_atomic(file, encode_log_sums(sums), mode);
}

std::string encode_log_sums(const LogSums& sums) {
  std::string out(kHeaderBytes + 4 * sums.crcs.size() + 4, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  std::memcpy(p, kMagic, sizeof kMagic);
  le::put_u32(p + 8, kVersion);
  le::put_u32(p + 12, sums.block_bytes);
  le::put_u64(p + 16, sums.log_bytes);
  for (size_t i = 0; i < sums.crcs.size(); i++) le::put_u32(p + kHeaderBytes + 4 * i, sums.crcs[i]);
  le::put_u32(p + out.size() - 4, le::crc32_of(0, p, out.size() - 4));
  return out;
}

LogSums read_log_sums(const fs::path& file) { return parse_log_sums(read_file(file), file.string()); }

LogSums parse_log_sums(std::string_view in, const std::string& origin) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  auto bad = [&](size_t offset, const std::string& what) {
    return bad_input(fmt::format("{}: offset {}: {} (remove the file to replay without checking the log)", origin,
                                 offset, what));
  };
  if (in.size() < sizeof kMagic || in.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0)
    throw bad(0, "not a xentt log checksum file (bad magic)");
  if (in.size() < kHeaderBytes + 4) throw bad(in.size(), "truncated header");
  uint32_t version = le::get_u32(p + 8);
  if (version != kVersion)
    throw bad(8, fmt::format("version {} is not known to this build (it reads version {})", version, kVersion));
  LogSums s;
  s.block_bytes = le::get_u32(p + 12);
  s.log_bytes = le::get_u64(p + 16);
  if (s.block_bytes < kMinBlock || (s.block_bytes & (s.block_bytes - 1)))
    throw bad(12, fmt::format("block size {} is not a power of two >= {}", s.block_bytes, kMinBlock));
  // Rounded up without s.log_bytes + block_bytes - 1, which wraps near 2^64.
  uint64_t blocks = s.log_bytes / s.block_bytes + (s.log_bytes % s.block_bytes != 0);
  uint64_t want = kHeaderBytes + 4 * blocks + 4;
  if (blocks > (1u << 30) || in.size() != want)
    throw bad(std::min<uint64_t>(in.size(), want), fmt::format("{} bytes where {} log bytes in blocks of {} need {}",
                                                               in.size(), s.log_bytes, s.block_bytes, want));
  if (le::crc32_of(0, p, want - 4) != le::get_u32(p + want - 4)) throw bad(want - 4, "the file's own checksum does not match (damaged)");
  s.crcs.reserve(blocks);
  for (uint64_t i = 0; i < blocks; i++) s.crcs.push_back(le::get_u32(p + kHeaderBytes + 4 * i));
  return s;
}

std::optional<LogDamage> find_log_damage(const fs::path& log, const LogSums& sums) {
  LogDamage d;
  bool found = false;
  auto mark = [&](uint64_t index) {
    if (!found) {
      d.begin = index * sums.block_bytes;
      d.end = std::min<uint64_t>(d.begin + sums.block_bytes, sums.log_bytes);
      found = true;
    }
    d.blocks++;
  };
  d.size = for_each_block(log, sums.block_bytes, [&](uint64_t index, uint32_t crc) {
    if (index >= sums.crcs.size() || crc != sums.crcs[index]) mark(index);
  });
  // A cut log: its last block is short (caught above) and the blocks past
  // its end are missing.
  uint64_t have = (d.size + sums.block_bytes - 1) / sums.block_bytes;
  for (uint64_t i = have; i < sums.crcs.size(); i++) mark(i);
  if (!found && d.size == sums.log_bytes) return std::nullopt;
  if (!found) {  // other size, equal CRCs (a 2^-32 collision of the last block): name the size change
    d.begin = std::min(d.size, sums.log_bytes);
    d.end = std::max(d.size, sums.log_bytes);
  }
  return d;
}

std::string describe(const LogDamage& d, const fs::path& log, const LogSums& sums) {
  std::string what;
  if (d.size < sums.log_bytes) {
    what = fmt::format("is cut short: {} bytes of the {} recorded, first difference in bytes {}-{}", d.size,
                       sums.log_bytes, d.begin, d.end - 1);
  } else {
    what = fmt::format("is damaged: bytes {}-{} differ from the checksum taken when it was recorded", d.begin,
                       d.end - 1);
    if (d.blocks > 1) what += fmt::format(" ({} blocks of {} bytes differ)", d.blocks, sums.block_bytes);
    if (d.size > sums.log_bytes) what += fmt::format("; it has grown from {} to {} bytes", sums.log_bytes, d.size);
  }
  return fmt::format("{} {}: replaying it would not reproduce the recording (restore it from a copy, or record again)",
                     log.string(), what);
}

}  // namespace xentt::qemu
