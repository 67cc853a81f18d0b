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

#include "xentt/vm/registers.h"

namespace xentt::debug {

// Why the target stopped moving.
enum class StopKind {
  Breakpoint,    // about to execute one of the breakpoints
  Step,          // one instruction forward or back done
  Interrupted,   // the client asked (0x03)
  HistoryBegin,  // going back reached the recording's start: paused there
  HistoryEnd,    // going forward reached the recording's end: paused there
};

class DebugTarget {
 public:
  virtual ~DebugTarget() = default;
  virtual Registers registers() = 0;
  // Guest-virtual memory as the paused vCPU sees it; nothing when unmapped.
  virtual std::optional<std::string> read_memory(std::uint64_t addr, std::size_t len) = 0;
  // Runs forward until a breakpoint of `bps`, the end, or `interrupted()`
  // (asked a few times a second). A run that starts on a breakpoint stops
  // there at once (gdb steps off its breakpoints itself).
  virtual StopKind resume(std::span<const std::uint64_t> bps, const std::function<bool()>& interrupted) = 0;
  virtual StopKind step() = 0;
  // Goes back to the last instant before this one at which a breakpoint of
  // `bps` was about to execute, exactly, or to the start.
  virtual StopKind reverse_resume(std::span<const std::uint64_t> bps, const std::function<bool()>& interrupted) = 0;
  virtual StopKind reverse_step() = 0;
  // A `monitor` command: the text it prints. Throws BadInput for a command
  // it does not know or bad arguments, with the message to show.
  virtual std::string monitor(std::string_view command) = 0;
};

}  // namespace xentt::debug
