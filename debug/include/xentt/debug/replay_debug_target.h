// xentt/debug/replay_debug_target.h: a DebugTarget over a replay session:
// forward runs with the engine's breakpoints, and reverse execution that is
// exact: going back replays forward from the checkpoint before the current
// instant, noting every breakpoint hit with its instruction count, and
// stops at the last one (the checkpoint before that one when the stretch
// has none, down to the start). Watchpoints work through the branch-trace
// plugin's memory callbacks (the session must be started with
// SessionOptions::memory_watch): a hit stops just after the accessing
// instruction, forward and backward.
#pragma once

#include <optional>

#include "xentt/debug/debug_target.h"
#include "xentt/session/replay_session.h"

namespace xentt::debug {

class ReplayDebugTarget final : public DebugTarget {
 public:
  explicit ReplayDebugTarget(ReplaySession& session) : s_(session) {}

  Registers registers() override;
  std::optional<std::string> read_memory(std::uint64_t addr, std::size_t len) override;
  Stop resume(const Triggers& t, const std::function<bool()>& interrupted) override;
  Stop step() override;
  Stop reverse_resume(const Triggers& t, const std::function<bool()>& interrupted) override;
  Stop reverse_step() override;
  bool can_watch() const override;
  std::string monitor(std::string_view command) override;

 private:
  // The recording's last instruction count (the index's), when known.
  std::optional<std::uint64_t> final_icount() const;
  // Moves to icount `n` exactly; when a breakpoint `eip` is wanted there
  // and the pause came before an exception's delivery, runs on to it.
  void go_to(std::uint64_t n, std::optional<std::uint64_t> eip = std::nullopt);
  // The checkpoint icounts of the index (0 first), ascending.
  std::vector<std::uint64_t> checkpoints() const;
  std::string when();
  // The plugin's memory watch, settled at this pause (watchpoints need it).
  BranchCounting& watcher();

  ReplaySession& s_;
  std::optional<Registers> regs_;  // of the current instant: a gdbstub round trip saved per 'g'
};

}  // namespace xentt::debug
