#include "vm/qemu/qmp_client.h"

#include "xentt/base/error.h"

namespace xentt::qemu {
using nlohmann::json;
using clock = std::chrono::steady_clock;

QmpClient::QmpClient(const std::filesystem::path& socket, std::chrono::milliseconds timeout,
                     const std::function<bool()>& still_alive)
    : sock_(UnixSocket::connect(socket, timeout, still_alive)) {
  json greeting = read_message(clock::now() + timeout, "the QMP greeting");
  if (!greeting.contains("QMP")) throw runtime_error(socket.string() + ": not a QMP socket");
  execute("qmp_capabilities");
}

json QmpClient::read_message(clock::time_point deadline, const std::string& waiting_for) {
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded()) throw runtime_error(sock_.path().string() + ": QEMU sent malformed JSON: " + line);
      return j;
    }
    auto now = clock::now();
    if (now >= deadline) throw runtime_error("timed out waiting for " + waiting_for + " from QEMU");
    try {
      buffer_ += sock_.receive(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    } catch (const Error&) {
      throw runtime_error("QEMU closed its QMP connection while xentt waited for " + waiting_for +
                          " (it exited; see its log)");
    }
  }
}

json QmpClient::execute(const std::string& command, const json& args, std::chrono::milliseconds timeout) {
  json req = {{"execute", command}};
  if (!args.empty()) req["arguments"] = args;
  sock_.send_all(req.dump() + "\n");
  auto deadline = clock::now() + timeout;
  for (;;) {
    json m = read_message(deadline, "the reply to " + command);
    if (m.contains("event")) {
      events_.push_back(std::move(m));
      continue;
    }
    if (m.contains("error")) {
      throw runtime_error("QEMU refused " + command + ": " + m["error"].value("desc", m["error"].dump()));
    }
    return m.value("return", json::object());
  }
}

std::optional<json> QmpClient::take_event(const std::string& name) {
  for (auto it = events_.begin(); it != events_.end(); ++it) {
    if ((*it)["event"] == name) {
      json e = std::move(*it);
      events_.erase(it);
      return e;
    }
  }
  return std::nullopt;
}

void QmpClient::pump() {
  for (;;) {
    std::string more = sock_.receive(std::chrono::milliseconds(0));
    if (more.empty()) break;
    buffer_ += more;
  }
  while (buffer_.find('\n') != std::string::npos) {
    json m = read_message(clock::now(), "an event");
    if (m.contains("event")) events_.push_back(std::move(m));
  }
}

json QmpClient::wait_event(const std::string& name, std::chrono::milliseconds timeout,
                           const std::vector<std::string>& also) {
  auto matches = [&](const json& e) {
    if (e["event"] == name) return true;
    for (const auto& a : also)
      if (e["event"] == a) return true;
    return false;
  };
  for (auto it = events_.begin(); it != events_.end(); ++it) {
    if (matches(*it)) {
      json e = std::move(*it);
      events_.erase(it);
      return e;
    }
  }
  auto deadline = clock::now() + timeout;
  for (;;) {
    json m = read_message(deadline, "event " + name);
    if (m.contains("event") && matches(m)) return m;
    if (m.contains("event")) events_.push_back(std::move(m));
  }
}

}  // namespace xentt::qemu
