// xentt/base/fs_util.h: small file-system helpers the state directory and the
// engines share. All throw xentt::Error naming the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace xentt {

// Reads a whole file. Cost: one read of the file; meant for small files.
std::string read_file(const std::filesystem::path& path);

// Writes `data` to `path` atomically: a temporary file in the same directory,
// fsync, rename. A reader sees the old or the new content, never half.
void write_file_atomic(const std::filesystem::path& path, const std::string& data, unsigned mode = 0644);

// Makes `path` whole or not at all: `write` fills the temporary file it is
// given ("PATH.tmp.PID", same directory), which is then renamed to `path`;
// when `write` throws, or the rename fails, the temporary file is removed
// and the error goes on. For writers that need a file name (a library that
// opens the file itself) or write at offsets; write_file_atomic() is the
// one for a string. Throws what `write` throws, system_error for the rename.
void write_then_rename(const std::filesystem::path& path,
                       const std::function<void(const std::filesystem::path& tmp)>& write);

// Copies a file, sharing blocks where the file system allows (reflink).
void clone_file(const std::filesystem::path& from, const std::filesystem::path& to);

// Reads `path` front to back in large chunks and hands each to `each`,
// telling the kernel the read is sequential; returns the bytes read. Throws
// Runtime naming the file and the byte offset where reading failed. Cost:
// one sequential read (0.5 s per GB from the page cache, measured).
std::uint64_t stream_file(const std::filesystem::path& path,
                          const std::function<void(const unsigned char* data, std::size_t n)>& each);

// Removes `path` and, when it is a directory, everything under it, without
// ever following a symbolic link (a link is removed, never what it points
// at) and without leaving the file system `path` is on (a mount point
// inside is refused, not entered). Removing something that does not exist
// is not an error. Throws Runtime naming the first path it cannot remove;
// what was removed before that stays removed. Cost: one openat/unlinkat per
// entry.
void remove_tree(const std::filesystem::path& path);

// Follows a file another process appends to (a guest's console): each
// take() passes on the bytes written since the last one. A file that does
// not exist yet has nothing to take. Cost: a pread per 64 KiB taken.
class FileTail {
 public:
  explicit FileTail(std::filesystem::path path) : path_(std::move(path)) {}
  ~FileTail();
  FileTail(const FileTail&) = delete;
  FileTail& operator=(const FileTail&) = delete;
  // Calls `each` with what was appended, in pieces; returns the bytes
  // passed. Throws Runtime naming the file when it cannot be read.
  std::uint64_t take(const std::function<void(std::string_view)>& each);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t offset_ = 0;
};

// A file a program is about to create for the user (a pcap, a dump) must
// not exist yet, so nothing of theirs is overwritten, and its directory
// must. Throws BadInput naming `option` and the path.
void require_new_output(const std::filesystem::path& path, const std::string& option);


}  // namespace xentt
