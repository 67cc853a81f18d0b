// xentt/base/file_digest.h: checksums of the files a replay depends on,
// taken when they are written and checked before they are trusted (STYLE
// 13). A manifest names each file of one directory with its size and zlib
// CRC-32, and carries a CRC-32 of itself, so damage to the manifest is told
// apart from damage to a file. Reader and writer live here; which files a
// manifest covers is for its owner (the session, an engine) to say.
//
// Format 1 (JSON): {"format": 1, "files": {"NAME": {"bytes": N, "crc32":
// "0x........"}, ...}, "crc32": "0x........"}, the last the CRC-32 of the
// same object's compact dump without "crc32".
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace xentt {

struct FileDigest {
  std::uint64_t bytes = 0;
  std::uint32_t crc32 = 0;
  bool operator==(const FileDigest&) const = default;
};

// Cost: one sequential read of the file (stream_file). Throws Runtime
// naming the file when it cannot be read.
FileDigest digest_file(const std::filesystem::path& path);

struct DigestManifest {
  static constexpr int kFormat = 1;
  // A file's path relative to the directory the manifest is checked against
  // -> its digest.
  std::map<std::string, FileDigest> files;

  // Digests `paths` (relative to `dir`) now.
  static DigestManifest of(const std::filesystem::path& dir, const std::vector<std::string>& paths);
  // Written atomically (mode 0600).
  void write(const std::filesystem::path& file) const;
  // Throws BadInput naming the file when it is damaged or of another format.
  static DigestManifest read(const std::filesystem::path& file);
  // The first file of `dir` whose digest differs from the manifest's (or
  // that is missing), as one line for the user: "DIR/NAME is damaged: ...".
  // Files named in `size_only` are checked by their size alone (large
  // files outside our control, checked in full only when asked). Cost: one
  // read of every other file listed.
  std::optional<std::string> damage(const std::filesystem::path& dir,
                                    const std::set<std::string>& size_only = {}) const;
};

}  // namespace xentt
