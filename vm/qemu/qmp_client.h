// qmp_client.h (engine qemu, private): QEMU's machine protocol (QMP) over a unix socket:
// JSON commands, replies and asynchronous events. We never scrape the human
// monitor; where QMP has no command, the caller says so.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "xentt/base/unix_socket.h"

namespace xentt::qemu {

class QmpClient {
 public:
  // Connects and negotiates capabilities. Cost: one round trip after QEMU is up.
  QmpClient(const std::filesystem::path& socket, std::chrono::milliseconds timeout,
            const std::function<bool()>& still_alive = {});

  // Runs one command; returns its "return" member. Throws Runtime with
  // QEMU's error description, naming the command.
  nlohmann::json execute(const std::string& command, const nlohmann::json& args = nlohmann::json::object(),
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Waits for the event `name` (events seen earlier are kept in order and
  // matched first) and returns it. Throws Runtime on timeout or when QEMU
  // goes away. `also` names events that end the wait too (e.g. SHUTDOWN
  // while waiting for STOP).
  nlohmann::json wait_event(const std::string& name, std::chrono::milliseconds timeout,
                            const std::vector<std::string>& also = {});

  // Takes a queued event named `name`, without waiting, if one arrived.
  std::optional<nlohmann::json> take_event(const std::string& name);
  // Drops every queued event (before a command whose events matter).
  void clear_events() { events_.clear(); }
  // Reads whatever has arrived without blocking (events get queued).
  void pump();

 private:
  nlohmann::json read_message(std::chrono::steady_clock::time_point deadline, const std::string& waiting_for);
  UnixSocket sock_;
  std::string buffer_;
  std::deque<nlohmann::json> events_;
};

}  // namespace xentt::qemu
