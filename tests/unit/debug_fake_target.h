// debug_fake_target.h: a DebugTarget for tests of the gdb server without a
// replay: fixed registers, 4 KiB of readable memory at 0x1000, and a
// "timeline" of instants 0..N that resume/step/reverse move along, each
// with rip = 0x100 + instant.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "xentt/base/error.h"
#include "xentt/debug/debug_target.h"

namespace xentt::debug::test {

class FakeTarget final : public DebugTarget {
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
  StopKind resume(std::span<const std::uint64_t> bps, const std::function<bool()>& interrupted) override {
    resumes++;
    for (; now < end; now++) {
      if (std::find(bps.begin(), bps.end(), 0x100 + now) != bps.end()) return StopKind::Breakpoint;
      if (interrupted && interrupted()) return StopKind::Interrupted;
    }
    return StopKind::HistoryEnd;
  }
  StopKind step() override {
    if (now == end) return StopKind::HistoryEnd;
    now++;
    return StopKind::Step;
  }
  StopKind reverse_resume(std::span<const std::uint64_t> bps, const std::function<bool()>&) override {
    while (now > 0) {
      now--;
      if (std::find(bps.begin(), bps.end(), 0x100 + now) != bps.end()) return StopKind::Breakpoint;
    }
    return StopKind::HistoryBegin;
  }
  StopKind reverse_step() override {
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
