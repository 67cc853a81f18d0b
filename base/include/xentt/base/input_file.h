// xentt/base/input_file.h: opening a file the user named, for reading,
// without ever waiting on the open.
//
// open(2) of a FIFO for reading waits until something opens it for
// writing, forever if nothing does (and a terminal line can wait for
// carrier), so `tool -e FIFO` would hang with no word. Every reader of
// user-named files opens through here: O_NONBLOCK (the open returns at
// once), then fstat, so the caller can refuse what it cannot read with a
// message saying what the file is.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace xentt {

// What a file of `mode` is, for messages: "a FIFO", "a directory", "a
// character device", "a block device", "a socket", "a symbolic link", "a
// regular file".
const char* file_type_name(mode_t mode) noexcept;

// An open, read-only descriptor of a user-named file and what fstat said of
// it; closed by the destructor.
class InputFile {
 public:
  // Opens `path` read-only, close-on-exec, O_NONBLOCK: returns at once even
  // for a FIFO nothing writes to. Throws BadInput "PATH: cannot open WHAT:
  // REASON" when it cannot be opened (a missing or unreadable path the user
  // named is their input), naming the file's type when that is why (a
  // socket). Cost: open + fstat.
  static InputFile open(const std::string& path, const std::string& what);
  // The same, and anything but a regular file is a BadInput: "PATH: is a
  // FIFO, not a regular file (expected WHAT)". For readers that map.
  static InputFile open_regular(const std::string& path, const std::string& what);

  InputFile(InputFile&& o) noexcept;
  InputFile& operator=(InputFile&&) = delete;
  InputFile(const InputFile&) = delete;
  ~InputFile();

  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }
  bool regular() const noexcept { return S_ISREG(st_.st_mode); }
  std::uint64_t size() const noexcept { return static_cast<std::uint64_t>(st_.st_size); }
  mode_t mode() const noexcept { return st_.st_mode; }

  // Reads up to `n` bytes into `buf`; 0 at the end of the input. A pipe or
  // device is read as it fills (waiting on a live writer, as cat(1) does),
  // but a named FIFO nothing has opened for writing is waited on for at
  // most `writer_grace` (so a writer started beside us can still come),
  // then refused: BadInput naming the FIFO. Throws Runtime on a read error.
  std::size_t read_some(void* buf, std::size_t n, std::chrono::milliseconds writer_grace = std::chrono::seconds(5));

  // Closes the descriptor now (a mapping of the file stays valid).
  void close() noexcept;

 private:
  InputFile(std::string path, int fd, const struct stat& st) : path_(std::move(path)), fd_(fd), st_(st) {}
  std::string path_;
  int fd_ = -1;
  struct stat st_ {};
  bool named_fifo_ = false;   // a FIFO in a file system (not an anonymous pipe)
  bool writer_seen_ = false;  // its writer has shown itself (data, EAGAIN or hangup)
  std::uint64_t offset_ = 0;  // bytes read so far, for messages
};

}  // namespace xentt
