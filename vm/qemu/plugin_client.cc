#include "vm/qemu/plugin_client.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "vm/qemu/plugin/protocol.h"
#include "xentt/base/error.h"
#include "xentt/base/hex.h"

namespace xentt::qemu {
namespace fs = std::filesystem;
namespace proto = plugin_protocol;
using nlohmann::json;
using namespace std::chrono_literals;

PluginClient::PluginClient(const fs::path& socket) : sock_(UnixSocket::connect(socket, 30s)) {}

std::string PluginClient::call(const std::string& line) {
  sock_.send_all(line + "\n");
  const std::string request = line.substr(0, line.find(' '));
  // Disarm waits for the writer thread: allow for a large last batch.
  auto deadline = std::chrono::steady_clock::now() + 120s;
  for (;;) {
    auto nl = pending_.find('\n');
    if (nl != std::string::npos) {
      std::string reply = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      auto j = json::parse(reply, nullptr, false);
      if (!j.is_object()) throw runtime_error("branch-trace plugin: " + request + ": unreadable reply: " + reply);
      if (!j.value(proto::kOk, false))
        throw runtime_error("branch-trace plugin: " + request + ": " + j.value(proto::kError, std::string("failed")));
      return reply;
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw runtime_error("branch-trace plugin does not answer on " + sock_.path().string());
    pending_ += sock_.receive(1s);
  }
}

void PluginClient::settle(std::uint64_t pc, std::uint64_t rsp, const std::optional<std::string>& stack) {
  std::string hex = "-";
  if (stack) {
    if (stack->size() != proto::kSettleStackBytes)
      throw runtime_error(fmt::format("branch-trace settle: {} stack bytes, want {}", stack->size(),
                                      proto::kSettleStackBytes));
    hex = hex_encode(*stack);
  }
  call(proto::settle_request(pc, rsp, hex));
}

BranchStatus PluginClient::status() {
  std::string reply = call(proto::kStatus);
  try {
    json r = json::parse(reply);
    BranchStatus s;
    s.armed = r.value(proto::kArmed, false);
    s.records = r.value(proto::kRecords, std::uint64_t{0});
    const json& v = r.at(proto::kVcpus).at(0);
    s.icount = v.at(proto::kIcount).get<std::uint64_t>();
    s.brctr = v.at(proto::kBrctr).get<std::uint64_t>();
    s.events = v.value(proto::kEvents, std::uint64_t{0});
    s.faults = v.value(proto::kFaults, std::uint64_t{0});
    s.unexplained = v.value(proto::kUnexplained, std::uint64_t{0});
    if (v.value(proto::kHit, false)) {
      s.hit_icount = v.at(proto::kHitIcount).get<std::uint64_t>();
      s.hit_pc = v.at(proto::kHitPc).get<std::uint64_t>();
      s.hit_brctr = v.at(proto::kHitBrctr).get<std::uint64_t>();
    }
    return s;
  } catch (const json::exception& e) {
    throw runtime_error("branch-trace plugin: status: malformed reply (" + std::string(e.what()) + "): " + reply);
  }
}

void PluginClient::set(std::uint64_t icount, std::uint64_t brctr) { call(proto::set_request(0, icount, brctr)); }
void PluginClient::watch(std::uint64_t brctr) { call(proto::watch_request(0, brctr)); }

void PluginClient::arm(const fs::path& path, const std::string& header_json) {
  if (path.string().find_first_of(" \n") != std::string::npos)
    throw bad_input("trace log path must not contain spaces: " + path.string());
  if (header_json.find('\n') != std::string::npos) throw bad_input("trace log header must be one line of JSON");
  call(proto::arm_request(path.string(), header_json));
}

std::uint64_t PluginClient::disarm() {
  return json::parse(call(proto::kDisarm)).value(proto::kRecords, std::uint64_t{0});
}
void PluginClient::close_log() { call(proto::kClose); }

void PluginClient::watch_memory(std::span<const MemoryWatch> ranges, WatchMode mode) {
  if (ranges.size() > proto::kMaxRanges)
    throw bad_input(fmt::format("at most {} memory ranges can be watched at once", proto::kMaxRanges));
  std::string line = std::string(proto::kMemWatch) + " " +
                     (ranges.empty() ? "off" : mode == WatchMode::First ? "first" : mode == WatchMode::Last ? "last" : "log");
  for (const MemoryWatch& w : ranges) {
    if (w.len == 0 || (!w.read && !w.write)) throw bad_input("a watched range needs a length and reads or writes");
    line += fmt::format(" {} {} {:x} {:x}", w.read && w.write ? "a" : w.read ? "r" : "w", w.physical ? "p" : "v",
                        w.addr, w.len);
  }
  call(line);
}

MemoryHits PluginClient::memory_hits() {
  json j = json::parse(call(proto::kMemHits), nullptr, false);
  if (!j.is_object() || !j.contains("hits")) throw runtime_error("the branch-trace plugin's memhits reply is malformed");
  MemoryHits h;
  h.count = j.value("count", std::uint64_t{0});
  for (const json& x : j["hits"]) {
    MemoryAccess a;
    a.icount = x.value("icount", std::uint64_t{0});
    a.pc = x.value("pc", std::uint64_t{0});
    a.brctr = x.value("brctr", std::uint64_t{0});
    a.addr = x.value("addr", std::uint64_t{0});
    a.size = x.value("size", 0u);
    a.write = x.value("write", false);
    a.watch = x.value("range", std::size_t{0});
    auto data = hex_decode(x.value("data", std::string()));
    if (!data) throw runtime_error("the branch-trace plugin's memhits reply has malformed data");
    a.data = std::move(*data);
    h.kept.push_back(std::move(a));
  }
  return h;
}

fs::path branch_plugin_path() {
  if (const char* p = std::getenv("XENTT_PLUGIN"); p && *p) return p;
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&branch_plugin_path), &info) && info.dli_fname) {
    fs::path lib = fs::path(info.dli_fname).parent_path();
    for (fs::path cand : {lib / "xentt-bt.so", lib / "xentt" / "xentt-bt.so"})
      if (fs::exists(cand)) return cand;
  }
  throw runtime_error("the branch-trace plugin xentt-bt.so was not found next to libxentt-qemu (set XENTT_PLUGIN)");
}

}  // namespace xentt::qemu
