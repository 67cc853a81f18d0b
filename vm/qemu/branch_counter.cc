#include "vm/qemu/branch_counter.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "xentt/base/error.h"
#include "xentt/base/unix_socket.h"

namespace xentt {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct BranchCounter::Impl {
  UnixSocket sock;
  std::string pending;
};

BranchCounter::BranchCounter(const fs::path& socket)
    : impl_(new Impl{UnixSocket::connect(socket, 30s), {}}) {}
BranchCounter::~BranchCounter() = default;

std::string BranchCounter::call(const std::string& line) {
  impl_->sock.send_all(line + "\n");
  // Disarm waits for the writer thread: allow for a large last batch.
  auto deadline = std::chrono::steady_clock::now() + 120s;
  for (;;) {
    auto nl = impl_->pending.find('\n');
    if (nl != std::string::npos) {
      std::string reply = impl_->pending.substr(0, nl);
      impl_->pending.erase(0, nl + 1);
      auto j = nlohmann::json::parse(reply, nullptr, false);
      if (!j.is_object()) throw runtime_error("branch-trace plugin: unreadable reply: " + reply);
      if (!j.value("ok", false))
        throw runtime_error("branch-trace plugin: " + line.substr(0, line.find(' ')) + ": " +
                            j.value("error", std::string("failed")));
      return reply;
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw runtime_error("branch-trace plugin does not answer on " + impl_->sock.path().string());
    impl_->pending += impl_->sock.receive(1s);
  }
}

void BranchCounter::settle(uint64_t pc, uint64_t rsp, const std::optional<std::string>& stack) {
  std::string hex = "-";
  if (stack) {
    if (stack->size() != 48) throw runtime_error(fmt::format("branch-trace settle: {} stack bytes, want 48", stack->size()));
    hex.clear();
    for (unsigned char b : *stack) hex += fmt::format("{:02x}", b);
  }
  call(fmt::format("settle {:x} {:x} {}", pc, rsp, hex));
}

BranchCounterStatus BranchCounter::status() {
  auto r = nlohmann::json::parse(call("status"));
  BranchCounterStatus s;
  s.armed = r.value("armed", false);
  s.records = r.value("records", uint64_t{0});
  const auto& v = r.at("vcpus").at(0);
  s.icount = v.at("icount").get<uint64_t>();
  s.brctr = v.at("brctr").get<uint64_t>();
  s.events = v.value("events", uint64_t{0});
  s.faults = v.value("faults", uint64_t{0});
  s.unexplained = v.value("unexplained", uint64_t{0});
  if (v.value("hit", false)) {
    s.hit_icount = v.at("hit_icount").get<uint64_t>();
    s.hit_pc = v.at("hit_pc").get<uint64_t>();
    s.hit_brctr = v.at("hit_brctr").get<uint64_t>();
  }
  return s;
}

void BranchCounter::set(uint64_t icount, uint64_t brctr) {
  call("set 0 " + std::to_string(icount) + " " + std::to_string(brctr));
}
void BranchCounter::watch(uint64_t brctr) { call("watch 0 " + std::to_string(brctr)); }
void BranchCounter::arm(const fs::path& path, const std::string& header_json) {
  if (path.string().find_first_of(" \n") != std::string::npos)
    throw bad_input("trace log path must not contain spaces: " + path.string());
  call(fmt::format("arm {} {}", path.string(), header_json));
}
uint64_t BranchCounter::disarm() {
  return nlohmann::json::parse(call("disarm")).value("records", uint64_t{0});
}
void BranchCounter::close_log() { call("close"); }

fs::path branch_plugin_path() {
  if (const char* p = std::getenv("XENTT_PLUGIN"); p && *p) return p;
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&branch_plugin_path), &info) && info.dli_fname) {
    fs::path lib = fs::path(info.dli_fname).parent_path();
    for (fs::path cand : {lib / "xentt-bt.so", lib / "xentt" / "xentt-bt.so"})
      if (fs::exists(cand)) return cand;
  }
  throw runtime_error("the branch-trace plugin xentt-bt.so was not found next to libxentt (set XENTT_PLUGIN)");
}

}  // namespace xentt
