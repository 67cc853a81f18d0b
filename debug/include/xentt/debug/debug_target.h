// xentt/debug/debug_target.h: what the gdb server drives. One paused
// target that runs forward and backward; the server owns the protocol, an
// implementation owns how to move (ReplayDebugTarget: a replay, exactly).
// Unit tests give the server a fake.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

#include "xentt/vm/registers.h"

namespace xentt::debug {

// Why the target stopped moving.
enum class StopKind {
  Breakpoint,    // about to execute one of the breakpoints
  Watchpoint,    // just after an instruction accessed a watched range (Stop::watch)
  Step,          // one instruction forward or back done
  Interrupted,   // the client asked (0x03)
  HistoryBegin,  // going back reached the recording's start: paused there
  HistoryEnd,    // going forward reached the recording's end: paused there
};

// A watched range of guest-virtual memory, as gdb sets it (Z2/Z3/Z4).
struct Watchpoint {
  enum Kind { Write, Read, Access } kind = Write;
  std::uint64_t addr = 0, len = 0;
  bool operator<(const Watchpoint& o) const {
    return std::tie(addr, len, kind) < std::tie(o.addr, o.len, o.kind);
  }
  bool operator==(const Watchpoint&) const = default;
};

// What stops a run: breakpoint addresses and watched ranges.
struct Triggers {
  std::span<const std::uint64_t> breakpoints;
  std::span<const Watchpoint> watchpoints;
};

struct Stop {
  Stop() = default;
  Stop(StopKind k) : kind(k) {}  // NOLINT: a plain stop converts
  Stop(StopKind k, const Watchpoint& w, std::uint64_t addr) : kind(k), watch(w), data_addr(addr) {}
  StopKind kind = StopKind::Step;
  std::optional<Watchpoint> watch;  // the watchpoint hit (kind Watchpoint)
  std::uint64_t data_addr = 0;      // the address the instruction accessed
};

class DebugTarget {
 public:
  virtual ~DebugTarget() = default;
  virtual Registers registers() = 0;
  // Guest-virtual memory as the paused vCPU sees it; nothing when unmapped.
  virtual std::optional<std::string> read_memory(std::uint64_t addr, std::size_t len) = 0;
  // Runs forward until a breakpoint, just past an access to a watched
  // range, the end, or `interrupted()` (asked a few times a second). A run
  // that starts on a breakpoint may stop there at once: gdb steps off its
  // breakpoints itself.
  virtual Stop resume(const Triggers& t, const std::function<bool()>& interrupted) = 0;
  virtual Stop step() = 0;
  // Goes back to the last instant before this one at which a breakpoint
  // was about to execute or an access to a watched range had just
  // happened, exactly, or to the start.
  virtual Stop reverse_resume(const Triggers& t, const std::function<bool()>& interrupted) = 0;
  virtual Stop reverse_step() = 0;
  // Whether watchpoints work here (the server answers gdb's Z2-Z4 with
  // "not supported" otherwise, and gdb falls back to its own).
  virtual bool can_watch() const { return true; }
  // A `monitor` command: the text it prints. Throws BadInput for a command
  // it does not know or bad arguments, with the message to show.
  virtual std::string monitor(std::string_view command) = 0;
};

}  // namespace xentt::debug
