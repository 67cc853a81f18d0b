// debug_fake_target.h: a DebugTarget for tests of the gdb server without a
// replay: fixed registers, 4 KiB of readable memory at 0x1000, and a
// "timeline" of instants 0..N that resume/step/reverse move along, each
// with rip = 0x100 + instant.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "xentt/base/error.h"
#include "xentt/debug/debug_target.h"

namespace xentt::debug::test {

class FakeTarget : public DebugTarget {
 public:
  std::uint64_t now = 0, end = 100;
  int resumes = 0;
  Registers registers() override {
    Registers r;
    for (Reg g : all_regs()) r.set(g, static_cast<std::uint64_t>(g) * 0x0101010101010101ull);
    r.set(Reg::rip, 0x100 + now);
    r.extended = std::string(2 * 372, 'a');
    return r;
  }
  std::optional<std::string> read_memory(std::uint64_t addr, std::size_t len) override {
    if (addr < 0x1000 || addr + len > 0x2000 || addr + len < addr) return std::nullopt;
    std::string out(len, '\0');
    for (std::size_t i = 0; i < len; i++) out[i] = char((addr + i) & 0xff);
    return out;
  }
  // The instruction at instant i writes the byte at 0x1000 + i.
  std::optional<Stop> access_at(std::uint64_t i, std::span<const Watchpoint> wps) const {
    for (const Watchpoint& w : wps)
      if (w.kind != Watchpoint::Read && 0x1000 + i >= w.addr && 0x1000 + i < w.addr + w.len)
        return Stop(StopKind::Watchpoint, w, 0x1000 + i);
    return std::nullopt;
  }
  static bool is_bp(std::span<const std::uint64_t> bps, std::uint64_t i) {
    return std::find(bps.begin(), bps.end(), 0x100 + i) != bps.end();
  }
  Stop resume(const Triggers& t, const std::function<bool()>& interrupted) override {
    resumes++;
    for (bool first = true; now < end; first = false) {
      if (!first && is_bp(t.breakpoints, now)) return StopKind::Breakpoint;
      if (interrupted && interrupted()) return StopKind::Interrupted;
      auto hit = access_at(now, t.watchpoints);
      now++;
      if (hit) return *hit;
    }
    return StopKind::HistoryEnd;
  }
  Stop step() override {
    if (now == end) return StopKind::HistoryEnd;
    now++;
    return StopKind::Step;
  }
  Stop reverse_resume(const Triggers& t, const std::function<bool()>&) override {
    while (now > 0) {
      now--;
      if (now > 0)
        if (auto hit = access_at(now - 1, t.watchpoints)) return *hit;
      if (is_bp(t.breakpoints, now)) return StopKind::Breakpoint;
    }
    return StopKind::HistoryBegin;
  }
  Stop reverse_step() override {
    if (now == 0) return StopKind::HistoryBegin;
    now--;
    return StopKind::Step;
  }
  std::string monitor(std::string_view command) override {
    if (command == "when") return "instant " + std::to_string(now) + "\n";
    throw bad_input("unknown monitor command '" + std::string(command) + "'");
  }
};

}  // namespace xentt::debug::test
