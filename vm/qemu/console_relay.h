// console_relay.h (engine qemu, private): the serial console of a recording
// that takes input. QEMU's serial socket is held by the recorder from
// QEMU's first instant to its last, and everything QEMU writes there is
// read and dropped (the console file has it, through logfile=): a write to
// an unconnected socket fails, QEMU records that failure, and the replay,
// which repeats each write as recorded, would then leave the bytes out of
// its console (measured: a recording detached from at byte 127 replayed a
// console that stopped there). The user's terminal (tt_record -c) comes
// and goes at a socket of its own, one client at a time, and what it sends
// is passed on to the guest.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

#include "xentt/base/unix_socket.h"

namespace xentt::qemu {

class ConsoleRelay {
 public:
  // Listens at `terminal_path` (mode 0600). Throws BadInput when it is taken.
  explicit ConsoleRelay(std::filesystem::path terminal_path);
  ~ConsoleRelay();  // stops the thread, closes everything, removes the terminal socket
  ConsoleRelay(const ConsoleRelay&) = delete;
  ConsoleRelay& operator=(const ConsoleRelay&) = delete;

  // Connects to QEMU's serial socket at `qemu_path` (QEMU waits for it:
  // wait=on), retrying until `timeout` while `alive()`, and starts relaying.
  // Throws Runtime when QEMU never listens.
  void start(const std::filesystem::path& qemu_path, std::chrono::milliseconds timeout,
             const std::function<bool()>& alive);

 private:
  void run();

  std::filesystem::path terminal_path_;
  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};  // a pipe: written to end the thread
  std::optional<UnixSocket> qemu_;
  std::thread thread_;
};

}  // namespace xentt::qemu
