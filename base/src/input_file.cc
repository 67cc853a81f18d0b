#include "xentt/base/input_file.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "xentt/base/error.h"
#include "xentt/base/interrupt.h"

namespace xentt {

const char* file_type_name(mode_t mode) noexcept {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "a file of unknown type";
}

InputFile InputFile::open(const std::string& path, const std::string& what) {
  // O_NONBLOCK: a FIFO opens at once, with or without a writer; O_NOCTTY:
  // a terminal named by mistake does not become ours.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    struct stat st {};
    if (e == ENXIO && ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))  // a socket, a device without driver
      throw bad_input(path + ": is " + file_type_name(st.st_mode) + ", not a regular file (expected " + what + ")");
    throw bad_input(path + ": cannot open " + what + ": " +
                    (e == ENOENT ? std::string("no such file") : std::system_category().message(e)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw system_error(path + ": cannot stat " + what, e);
  }
  InputFile f(path, fd, st);
  // An anonymous pipe (`<(cmd)`, `cmd | tool /dev/stdin`) never gains a
  // writer it did not have: an empty read there is the end. Only a named
  // FIFO can still be waiting for its writer.
  struct statfs fs {};
  f.named_fifo_ = S_ISFIFO(st.st_mode) && ::fstatfs(fd, &fs) == 0 && fs.f_type != PIPEFS_MAGIC;
  return f;
}

InputFile InputFile::open_regular(const std::string& path, const std::string& what) {
  InputFile f = open(path, what);
  if (!f.regular())
    throw bad_input(path + ": is " + file_type_name(f.mode()) + ", not a regular file (expected " + what + ")");
  return f;
}

InputFile::InputFile(InputFile&& o) noexcept
    : path_(std::move(o.path_)), fd_(o.fd_), st_(o.st_), named_fifo_(o.named_fifo_), writer_seen_(o.writer_seen_),
      offset_(o.offset_) {
  o.fd_ = -1;
}

InputFile::~InputFile() { close(); }

void InputFile::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::size_t InputFile::read_some(void* buf, std::size_t n, std::chrono::milliseconds writer_grace) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + writer_grace;
  for (;;) {
    ssize_t r = ::read(fd_, buf, n);
    if (r > 0) {
      writer_seen_ = true;
      offset_ += static_cast<std::uint64_t>(r);
      return static_cast<std::size_t>(r);
    }
    int e = errno;
    // A tool that stops on signals (stop_on_signals()) is not kept
    // waiting on a quiet writer by Ctrl-C; others die of it as before.
    throw_if_interrupted();
    if (r == 0) {
      // No data and no writer: the end, unless this is a named FIFO whose
      // writer has not come yet.
      if (!named_fifo_ || writer_seen_) return 0;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (left <= 0)
        throw bad_input(path_ + ": is a FIFO that nothing opened for writing within " +
                        std::to_string(writer_grace.count()) + " ms (start its writer first, or give a regular file)");
      // Wakes when a writer writes, or came and went (POLLHUP: Linux
      // reports it only for writers that came after our open).
      struct pollfd p {fd_, POLLIN, 0};
      int k = ::poll(&p, 1, static_cast<int>(left));
      if (k > 0) writer_seen_ = true;
      if (k < 0 && errno != EINTR) throw system_error(path_ + ": cannot wait for the FIFO's writer", errno);
      continue;
    }
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) {
      // A writer is there and has not written yet: wait as cat(1) would.
      writer_seen_ = true;
      struct pollfd p {fd_, POLLIN, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) throw system_error(path_ + ": cannot wait for input", errno);
      continue;
    }
    throw system_error(path_ + ": read failed at offset " + std::to_string(offset_), e);
  }
}

}  // namespace xentt
