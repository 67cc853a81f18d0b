#include "vm/qemu/qmp_client.h"

#include "xentt/base/error.h"
#include "xentt/base/printable.h"

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

std::optional<json> take_qmp_message(std::string& buffer, const std::string& origin) {
  for (;;) {
    auto nl = buffer.find('\n');
    if (nl == std::string::npos) return std::nullopt;
    std::string line = buffer.substr(0, nl);
    buffer.erase(0, nl + 1);
    if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) throw runtime_error(origin + ": QEMU sent malformed JSON: " + excerpt(line));
    // Every QMP message is an object; callers look members up by name.
    if (!j.is_object()) throw runtime_error(origin + ": QEMU sent JSON that is not an object: " + excerpt(line));
    return j;
  }
}

json qmp_return(const json& m, const std::string& command) {
  if (auto e = m.find("error"); e != m.end()) {
    // QEMU's {"class": ..., "desc": "..."}; anything else is shown as it came.
    auto desc = e->is_object() ? e->find("desc") : e->end();
    bool text = e->is_object() && desc != e->end() && desc->is_string();
    throw runtime_error("QEMU refused " + command + ": " + excerpt(text ? desc->get<std::string>() : e->dump(), 200));
  }
  auto r = m.find("return");
  return r != m.end() ? *r : json::object();
}

json QmpClient::read_message(clock::time_point deadline, const std::string& waiting_for) {
  for (;;) {
    if (auto m = take_qmp_message(buffer_, sock_.path().string())) return std::move(*m);
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
    return qmp_return(m, command);
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
  while (auto m = take_qmp_message(buffer_, sock_.path().string()))
    if (m->contains("event")) events_.push_back(std::move(*m));
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
