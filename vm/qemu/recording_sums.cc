#include "vm/qemu/recording_sums.h"

#include <fmt/format.h>

#include <fstream>
#include <vector>

#include "vm/qemu/log_sums.h"
#include "vm/qemu/qemu_files.h"
#include "xentt/base/error.h"
#include "xentt/base/file_digest.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/le_bytes.h"

namespace xentt::qemu {
namespace fs = std::filesystem;

namespace {
// The files of store.sums.json, relative to the recording directory.
std::vector<std::string> store_files(const MachineSpec& m, const fs::path& recording) {
  std::vector<std::string> files{kSnapshots};
  if (m.disk) files.push_back(m.disk->lexically_relative(recording).string());
  return files;
}
}  // namespace

void seal_log(const fs::path& recording) {
  write_log_sums(recording / kLogSums, compute_log_sums(recording / kEngineLog), 0600);
}

void seal_store(const MachineSpec& m, const fs::path& recording) {
  DigestManifest::of(recording, store_files(m, recording)).write(recording / kStoreSums);
}

void unseal_store(const fs::path& recording) {
  std::error_code ec;
  fs::remove(recording / kStoreSums, ec);
}

void check_recording_files(const MachineSpec& m, const fs::path& recording) {
  fs::path log = recording / kEngineLog, sums_file = recording / kLogSums;
  if (!fs::exists(log)) throw bad_input(log.string() + " is missing: no recording to replay");
  if (fs::exists(sums_file)) {
    LogSums sums = read_log_sums(sums_file);
    if (auto damage = find_log_damage(log, sums)) throw bad_input(describe(*damage, log, sums));
  }
  if (fs::exists(recording / kStoreSums)) {
    DigestManifest store = DigestManifest::read(recording / kStoreSums);
    for (const auto& f : store_files(m, recording))
      if (!store.files.contains(f))
        throw bad_input((recording / kStoreSums).string() + ": no checksum for " + f + " (damaged?)");
    if (auto damage = store.damage(recording)) throw bad_input(*damage);
  }
}

std::string recording_id(const fs::path& recording) {
  // The log's size and the CRC-32 of its first and last 64 KiB: another
  // recording differs there, and it costs two small reads whatever the size.
  fs::path log = recording / kEngineLog;
  std::error_code ec;
  const std::uint64_t bytes = fs::file_size(log, ec);
  if (ec) return fmt::format("{} missing", kEngineLog);
  std::uint32_t crc = 0;
  std::ifstream in(log, std::ios::binary);
  std::vector<char> buf(64 << 10);
  for (std::uint64_t at : {std::uint64_t{0}, bytes > buf.size() ? bytes - buf.size() : 0}) {
    in.seekg(static_cast<std::streamoff>(at));
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    crc = le::crc32_of(crc, buf.data(), static_cast<std::size_t>(in.gcount()));
    in.clear();
  }
  return fmt::format("{} {} bytes {:#010x}", kEngineLog, bytes, crc);
}

}  // namespace xentt::qemu
