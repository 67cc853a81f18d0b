#include "xentt/base/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
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

}  // namespace xentt
