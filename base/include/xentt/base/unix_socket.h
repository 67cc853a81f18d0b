// xentt/base/unix_socket.h: a connected AF_UNIX stream socket with deadlines,
// the transport under QMP and the gdb remote protocol.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace xentt {

class UnixSocket {
 public:
  // Connects, retrying until `timeout` while the socket file does not exist
  // or refuses (QEMU creates it shortly after it starts). `still_alive` is
  // asked between tries so a dead server fails fast instead of at timeout.
  static UnixSocket connect(const std::filesystem::path& path, std::chrono::milliseconds timeout,
                            const std::function<bool()>& still_alive = {});
  UnixSocket(UnixSocket&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  UnixSocket& operator=(UnixSocket&&) = delete;
  UnixSocket(const UnixSocket&) = delete;
  ~UnixSocket();

  void send_all(const std::string& data);
  // Reads what is available, waiting at most `timeout`; "" on timeout.
  // Throws Runtime when the peer closed the connection.
  std::string receive(std::chrono::milliseconds timeout);
  const std::filesystem::path& path() const { return path_; }
  // For poll(); reads and writes go through receive() and send_all().
  int fd() const { return fd_; }
  // shutdown(2): SHUT_WR says "no more from me" while the peer may still
  // answer; SHUT_RDWR also wakes a thread blocked in send_all().
  void shutdown(int how) noexcept;
  // A send_all() that cannot go on for `t` (the peer stopped reading)
  // throws instead of blocking for ever.
  void set_send_timeout(std::chrono::milliseconds t);

 private:
  UnixSocket(int fd, std::filesystem::path p) : fd_(fd), path_(std::move(p)) {}
  int fd_;
  std::filesystem::path path_;
};

// Listens at `path` (created mode 0600, backlog 16) and returns the
// listening descriptor. What is there already: a socket nobody answers at
// (its server died) is replaced; a socket someone answers at is BadInput
// "BUSY at PATH"; anything else (a file, a directory) is never touched:
// BadInput. Cost: one connect() to test an existing socket.
int listen_unix(const std::filesystem::path& path, const std::string& busy);

}  // namespace xentt
