#include "xentt/base/fs_util.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "xentt/base/error.h"

namespace xentt {
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw system_error("cannot read " + path.string(), errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file_atomic(const fs::path& path, const std::string& data, unsigned mode) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw system_error("cannot write " + tmp.string(), errno);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw system_error("cannot write " + tmp.string(), err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw system_error("cannot write " + tmp.string(), err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw system_error("cannot rename " + tmp.string() + " to " + path.string(), err);
  }
}

void write_then_rename(const fs::path& path, const std::function<void(const fs::path& tmp)>& write) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(getpid());
  try {
    write(tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw system_error("cannot rename " + tmp.string() + " to " + path.string(), errno);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

void clone_file(const fs::path& from, const fs::path& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw system_error("cannot read " + from.string(), errno);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    int err = errno;
    ::close(in);
    throw system_error("cannot create " + to.string(), err);
  }
  bool ok = ::ioctl(out, FICLONE, in) == 0;
  if (!ok) {
    struct stat st {};
    ::fstat(in, &st);
    off_t left = st.st_size;
    ok = true;
    while (left > 0) {
      ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, static_cast<size_t>(left), 0);
      if (n <= 0) {
        ok = false;
        break;
      }
      left -= n;
    }
  }
  int err = errno;
  ::close(in);
  if (::close(out) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) throw system_error("cannot copy " + from.string() + " to " + to.string(), err);
}

std::uint64_t stream_file(const fs::path& path,
                          const std::function<void(const unsigned char* data, std::size_t n)>& each) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw system_error("cannot read " + path.string(), errno);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<unsigned char> buf(1 << 20);
  std::uint64_t total = 0;
  try {
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw system_error("cannot read " + path.string() + " at byte " + std::to_string(total), errno);
      if (n == 0) break;
      each(buf.data(), static_cast<std::size_t>(n));
      total += static_cast<std::uint64_t>(n);
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return total;
}

// Empties the directory open at `dir` (which lies on device `dev`), then
// closes it. `where` names it in errors.
static void empty_dir_at(int dir, dev_t dev, const fs::path& where) {
  DIR* d = ::fdopendir(dir);
  if (!d) {
    int err = errno;
    ::close(dir);
    throw system_error("cannot read " + where.string(), err);
  }
  // Names first, removal after: unlinking while readdir() walks the same
  // directory may skip entries.
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  try {
    for (const auto& n : names) {
      struct stat st {};
      if (::fstatat(dir, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        throw system_error("cannot remove " + (where / n).string(), errno);
      }
      if (S_ISDIR(st.st_mode)) {
        if (st.st_dev != dev)
          throw runtime_error("not removing " + (where / n).string() + ": another file system is mounted there");
        int sub = ::openat(dir, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) throw system_error("cannot remove " + (where / n).string(), errno);
        empty_dir_at(sub, dev, where / n);
      }
      if (::unlinkat(dir, n.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT)
        throw system_error("cannot remove " + (where / n).string(), errno);
    }
  } catch (...) {
    ::closedir(d);
    throw;
  }
  ::closedir(d);
}

void remove_tree(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw system_error("cannot remove " + path.string(), errno);
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) throw system_error("cannot remove " + path.string(), errno);
    empty_dir_at(fd, st.st_dev, path);
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) throw system_error("cannot remove " + path.string(), errno);
  } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw system_error("cannot remove " + path.string(), errno);
  }
}


void require_new_output(const fs::path& path, const std::string& option) {
  std::error_code ec;
  if (fs::symlink_status(path, ec).type() != fs::file_type::not_found)
    throw bad_input(option + ": " + path.string() + " exists (give a new name, or remove it first)");
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) throw bad_input(option + ": there is no directory " + dir.string());
}

FileTail::~FileTail() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t FileTail::take(const std::function<void(std::string_view)>& each) {
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      if (errno == ENOENT) return 0;
      throw system_error("cannot read " + path_.string(), errno);
    }
  }
  char buf[65536];
  std::uint64_t taken = 0;
  for (;;) {
    ssize_t n = ::pread(fd_, buf, sizeof buf, static_cast<off_t>(offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw system_error(fmt::format("{}: reading at byte {}", path_.string(), offset_), errno);
    if (n == 0) return taken;
    offset_ += static_cast<std::uint64_t>(n);
    taken += static_cast<std::uint64_t>(n);
    each(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

}  // namespace xentt
