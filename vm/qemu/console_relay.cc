#include "vm/qemu/console_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "xentt/base/error.h"

namespace xentt::qemu {
namespace fs = std::filesystem;

ConsoleRelay::ConsoleRelay(fs::path terminal_path) : terminal_path_(std::move(terminal_path)) {
  listen_fd_ = listen_unix(terminal_path_, "another recording's console");
  if (::pipe2(stop_, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(listen_fd_);
    throw system_error("the console relay's pipe", e);
  }
}

ConsoleRelay::~ConsoleRelay() {
  if (thread_.joinable()) {
    char c = 0;
    (void)!::write(stop_[1], &c, 1);
    thread_.join();
  }
  ::close(listen_fd_);
  ::close(stop_[0]);
  ::close(stop_[1]);
  std::error_code ec;
  fs::remove(terminal_path_, ec);
}

void ConsoleRelay::start(const fs::path& qemu_path, std::chrono::milliseconds timeout,
                         const std::function<bool()>& alive) {
  qemu_.emplace(UnixSocket::connect(qemu_path, timeout, alive));
  thread_ = std::thread([this] { run(); });
}

// One poll loop: QEMU's output read (a copy to the terminal, else dropped); one terminal at a time
// (a second is closed at once), its bytes written to QEMU. Ends on the
// stop pipe or when QEMU closes its side. Errors end the terminal's
// connection, never the recording.
void ConsoleRelay::run() {
  int client = -1;
  char buf[4096];
  for (;;) {
    pollfd p[4] = {{stop_[0], POLLIN, 0}, {qemu_->fd(), POLLIN, 0}, {listen_fd_, POLLIN, 0}, {client, POLLIN, 0}};
    if (::poll(p, client >= 0 ? 4 : 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents) break;
    if (p[1].revents) {
      ssize_t n = ::recv(qemu_->fd(), buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;  // QEMU is gone
      // A copy for the terminal, which prints the console file and only
      // needs waking; dropped when it does not keep up.
      if (n > 0 && client >= 0) (void)!::send(client, buf, static_cast<size_t>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    if (p[2].revents & POLLIN) {
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0 && client >= 0) ::close(c);  // one terminal at a time
      else if (c >= 0) client = c;
    }
    if (client >= 0 && p[3].revents) {
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0 && !(n < 0 && errno == EINTR)) {
        ::close(client);
        client = -1;
      } else if (n > 0) {
        try {
          qemu_->send_all(std::string(buf, static_cast<size_t>(n)));
        } catch (const Error&) {
          break;  // QEMU is gone
        }
      }
    }
  }
  if (client >= 0) ::close(client);
}

}  // namespace xentt::qemu
