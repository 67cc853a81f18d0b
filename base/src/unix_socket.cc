#include "xentt/base/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "xentt/base/error.h"
#include "xentt/base/interrupt.h"

namespace xentt {

UnixSocket UnixSocket::connect(const std::filesystem::path& path, std::chrono::milliseconds timeout,
                               const std::function<bool()>& still_alive) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) {
    throw bad_input("socket path too long (" + std::to_string(path.native().size()) +
                    " bytes, the limit is 107): " + path.string() + " (use a shorter state directory)");
  }
  std::strcpy(addr.sun_path, path.c_str());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int last_err = 0;
  for (;;) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw system_error("socket", errno);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return UnixSocket(fd, path);
    last_err = errno;
    ::close(fd);
    if (still_alive && !still_alive()) {
      throw runtime_error("cannot connect to " + path.string() + ": the process serving it has exited");
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    throw_if_interrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw system_error("cannot connect to " + path.string(), last_err);
}

UnixSocket::~UnixSocket() {
  if (fd_ >= 0) ::close(fd_);
}

void UnixSocket::send_all(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw system_error("write to " + path_.string(), errno);
    }
    done += static_cast<size_t>(n);
  }
}

void UnixSocket::shutdown(int how) noexcept { ::shutdown(fd_, how); }

void UnixSocket::set_send_timeout(std::chrono::milliseconds t) {
  timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>(t.count() % 1000 * 1000)};
  if (::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) throw system_error("setsockopt", errno);
}

std::string UnixSocket::receive(std::chrono::milliseconds timeout) {
  // Waits in slices so an interrupted foreground tool (xentt/base/interrupt.h)
  // unwinds within one slice even if its signal came just before poll().
  constexpr std::chrono::milliseconds slice(250);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd p{fd_, POLLIN, 0};
  for (;;) {
    throw_if_interrupted();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int r = ::poll(&p, 1, static_cast<int>(std::clamp(left, std::chrono::milliseconds(0), slice).count()));
    if (r < 0 && errno != EINTR) throw system_error("poll " + path_.string(), errno);
    if (r > 0) break;
    if (r == 0 && left <= slice) return {};
  }
  char buf[65536];
  ssize_t n;
  do n = ::recv(fd_, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) throw system_error("read from " + path_.string(), errno);
  if (n == 0) throw runtime_error("connection closed by the other end of " + path_.string());
  return std::string(buf, static_cast<size_t>(n));
}

int listen_unix(const std::filesystem::path& path, const std::string& busy) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof a.sun_path) throw bad_input("socket path too long: " + path.string());
  std::strcpy(a.sun_path, path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw system_error("socket", errno);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      ::close(fd);
      throw bad_input(path.string() + " exists and is not a socket: not replacing it");
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      ::close(fd);
      throw bad_input(busy + " at " + path.string());
    }
    ::close(fd);  // a socket that tried to connect cannot listen: a fresh one
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw system_error("socket", errno);
    ::unlink(path.c_str());  // a socket of a server that died: ours to replace
  }
  mode_t old = ::umask(0177);  // created 0600: only this user may talk to it
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int err = errno;
  ::umask(old);
  if (rc < 0 || ::listen(fd, 16) < 0) {
    err = rc < 0 ? err : errno;
    ::close(fd);
    throw system_error("cannot listen at " + path.string(), err);
  }
  return fd;
}

}  // namespace xentt
