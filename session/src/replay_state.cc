#include "xentt/session/replay_state.h"

#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/base/json_int.h"
#include "xentt/base/fs_util.h"

namespace xentt {
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
bool is_socket(const Endpoint& e) { return e.protocol == "gdb-remote" || e.protocol == "qmp"; }
}  // namespace

json ReplayState::to_json() const {
  json eps = json::array();
  json j = {{"format", kFormat},
            {"vm", vm},
            {"engine", engine},
            {"icount", icount},
            {"rip", fmt::format("{:#x}", rip)},
            {"kernel", kernel.string()},
            {"engine_pid", engine_pid},
            {"supervisor_pid", supervisor_pid},
            {"engine_start", engine_start},
            {"supervisor_start", supervisor_start}};
  for (const auto& e : endpoints) {
    json o = {{"name", e.name}, {"protocol", e.protocol}, {"path", e.path.string()}};
    if (e.bytes) o["bytes"] = *e.bytes;
    eps.push_back(o);
    // The flat keys tools and scripts read.
    if (is_socket(e)) {
      j[e.name + "_socket"] = e.path.string();
    } else {
      j[e.name + "_file"] = e.path.string();
      if (e.bytes) j[e.name + "_bytes"] = *e.bytes;
    }
  }
  j["endpoints"] = eps;
  return j;
}

ReplayState ReplayState::from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) throw bad_input(origin + ": not a JSON object");
  try {
    if (json_int<int>(j.at("format"), origin + ": format") != kFormat)
      throw bad_input(origin + ": replay state format " + excerpt(j["format"].dump()) + " unknown");
    ReplayState s;
    s.vm = j.at("vm").get<std::string>();
    s.engine = j.value("engine", "");
    s.icount = json_int<std::uint64_t>(j.at("icount"), origin + ": icount");
    s.rip = std::stoull(j.at("rip").get<std::string>(), nullptr, 16);
    s.kernel = j.value("kernel", "");
    s.engine_pid = json_int<int>(j.at("engine_pid"), origin + ": engine_pid");
    s.supervisor_pid = json_int<int>(j.at("supervisor_pid"), origin + ": supervisor_pid");
    s.engine_start = json_int<std::uint64_t>(j.at("engine_start"), origin + ": engine_start");
    s.supervisor_start = json_int<std::uint64_t>(j.at("supervisor_start"), origin + ": supervisor_start");
    for (const auto& e : j.at("endpoints")) {
      Endpoint ep{e.at("name").get<std::string>(), e.at("protocol").get<std::string>(), e.at("path").get<std::string>(),
                  std::nullopt};
      if (e.contains("bytes")) ep.bytes = json_int<std::uint64_t>(e["bytes"], origin + ": endpoint bytes");
      s.endpoints.push_back(std::move(ep));
    }
    return s;
  } catch (const json::exception& e) {
    throw bad_input(origin + ": " + e.what());
  } catch (const std::logic_error& e) {  // stoull
    throw bad_input(origin + ": rip is not a hex number");
  }
}

const Endpoint* ReplayState::endpoint(const std::string& name) const {
  for (const auto& e : endpoints)
    if (e.name == name) return &e;
  return nullptr;
}

void ReplayState::write(const fs::path& file) const { write_file_atomic(file, to_json().dump() + "\n", 0600); }

std::optional<ReplayState> ReplayState::read(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(file, ec))) return std::nullopt;
  try {
    return from_json(json::parse(read_file(file), nullptr, false), file.string());
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace xentt
