// xentt/fs_util.h: small file-system helpers the state directory and the
// engines share. All throw xentt::Error naming the path.
#pragma once

#include <filesystem>
#include <string>

namespace xentt {

// Reads a whole file. Cost: one read of the file; meant for small files.
std::string read_file(const std::filesystem::path& path);

// Writes `data` to `path` atomically: a temporary file in the same directory,
// fsync, rename. A reader sees the old or the new content, never half.
void write_file_atomic(const std::filesystem::path& path, const std::string& data, unsigned mode = 0644);

// Copies a file, sharing blocks where the file system allows (reflink).
void clone_file(const std::filesystem::path& from, const std::filesystem::path& to);

// True when `pid` names a live process (signal 0).
bool process_alive(int pid);

}  // namespace xentt
