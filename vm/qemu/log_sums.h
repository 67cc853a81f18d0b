// log_sums.h (engine qemu, private): block checksums of a recording's engine log
// (recording/replay.sums, next to recording/replay.bin).
//
// Why: QEMU replays a damaged replay.bin without noticing. Measured with
// QEMU 10.0.2 on the demo guest, 16 flipped bytes at 41 places in its log:
// 36 replays printed a wrong console, 2 ran 10 s past the end, 3 wedged with
// the vCPU spinning and the instruction count frozen, forever. The recorder
// takes these sums when the recording ends; a replay compares them first and
// names the damaged bytes instead of running a damaged log.
//
// Format (little-endian), version 1:
//   0  char[8]  magic "XTTSUMS\n"
//   8  u32      version (1)
//   12 u32      block_bytes: each sum covers this many bytes of the log (the
//               last block may be shorter); a power of two >= 4096
//   16 u64      log_bytes: the log's size when the sums were taken
//   24 u32      CRC-32 (zlib) of each block, ceil(log_bytes / block_bytes) of them
//   ..  u32     CRC-32 of everything before it, so damage to this file is
//               told apart from damage to the log
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xentt::qemu {

struct LogSums {
  uint32_t block_bytes = 0;
  uint64_t log_bytes = 0;
  std::vector<uint32_t> crcs;  // one per block
};

// Sums of `log`. The block size grows with the log so that the sums stay
// under 256 KiB (64k blocks: 4 KiB blocks up to 256 MiB of log). Cost: one
// sequential read of the log, CRC-32 at a few GB/s. Throws Error naming the
// path when it cannot be read.
LogSums compute_log_sums(const std::filesystem::path& log);

// Written atomically (temporary file, fsync, rename), as encode_log_sums.
void write_log_sums(const std::filesystem::path& file, const LogSums& sums, unsigned mode = 0644);
// The bytes of a sums file.
std::string encode_log_sums(const LogSums& sums);

// Throws BadInput naming the file and byte offset when it is not a sums file,
// is truncated or damaged, or has a version this build does not know.
LogSums read_log_sums(const std::filesystem::path& file);
// The same from the file's bytes; `origin` names it in errors.
LogSums parse_log_sums(std::string_view bytes, const std::string& origin);

// Where `log` no longer matches `sums`.
struct LogDamage {
  uint64_t begin = 0, end = 0;  // the first damaged block, [begin, end) in the log
  uint64_t blocks = 0;          // damaged blocks in all
  uint64_t size = 0;            // the log's size now (differs from sums.log_bytes when cut or grown)
};
// Cost: one sequential read of the log (as compute_log_sums).
std::optional<LogDamage> find_log_damage(const std::filesystem::path& log, const LogSums& sums);

// One line for the user: which bytes of `log` differ and what to do.
std::string describe(const LogDamage& d, const std::filesystem::path& log, const LogSums& sums);

}  // namespace xentt::qemu
