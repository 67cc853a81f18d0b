// qmp_client.h (engine qemu, private): QEMU's machine protocol (QMP) over a unix socket:
// JSON commands, replies and asynchronous events. We never scrape the human
// monitor; where QMP has no command, the caller says so.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "xentt/base/unix_socket.h"

namespace xentt::qemu {

// Takes the first whole line out of `buffer` (what QEMU sent so far) and
// parses it as a QMP message; nothing until a whole non-blank line is there
// (blank lines are dropped). Throws Runtime naming `origin` (the socket)
// when the line is not a JSON object. Cost: a scan of `buffer` and one
// JSON parse.
std::optional<nlohmann::json> take_qmp_message(std::string& buffer, const std::string& origin);
// What the reply `m` to `command` returns (its "return" member, {} when it
// has none); throws Runtime with QEMU's description when it is an error.
nlohmann::json qmp_return(const nlohmann::json& m, const std::string& command);

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
