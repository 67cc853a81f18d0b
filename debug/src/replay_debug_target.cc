#include "xentt/debug/replay_debug_target.h"

#include <fmt/format.h>

#include <algorithm>

#include "xentt/base/error.h"
#include "xentt/session/vm_symbols.h"

namespace xentt::debug {

Registers ReplayDebugTarget::registers() {
  if (!regs_) regs_ = s_.registers();
  return *regs_;
}

std::optional<std::string> ReplayDebugTarget::read_memory(std::uint64_t addr, std::size_t len) {
  return s_.target().read_virtual(addr, len);
}

std::optional<std::uint64_t> ReplayDebugTarget::final_icount() const {
  if (s_.index() && s_.index()->final_icount) return s_.index()->final_icount;
  return std::nullopt;
}

std::vector<std::uint64_t> ReplayDebugTarget::checkpoints() const {
  std::vector<std::uint64_t> c{0};
  if (s_.index()) c.insert(c.end(), s_.index()->checkpoints.begin(), s_.index()->checkpoints.end());
  std::sort(c.begin(), c.end());
  c.erase(std::unique(c.begin(), c.end()), c.end());
  return c;
}

void ReplayDebugTarget::go_to(std::uint64_t n, std::optional<std::uint64_t> eip) {
  regs_.reset();
  s_.run_until(Icount{n});
  // A breakpoint on an exception handler's first instruction has the
  // icount of the faulting one, and QEMU may pause before the delivery
  // (replay_session.cc): running on to the handler takes no instruction.
  if (eip && s_.registers().rip() != *eip) s_.target().run_to_eip(*eip);
}

StopKind ReplayDebugTarget::resume(std::span<const std::uint64_t> bps, const std::function<bool()>& interrupted) {
  regs_.reset();
  switch (s_.target().run_to_breakpoints(bps, final_icount(), interrupted)) {
    case ReplayTarget::RunStop::Breakpoint: return StopKind::Breakpoint;
    case ReplayTarget::RunStop::Interrupted: return StopKind::Interrupted;
    case ReplayTarget::RunStop::Icount:
    case ReplayTarget::RunStop::End: break;
  }
  return StopKind::HistoryEnd;
}

StopKind ReplayDebugTarget::step() {
  const std::uint64_t now = s_.position().icount;
  if (auto end = final_icount(); end && now >= *end) return StopKind::HistoryEnd;
  regs_.reset();
  s_.step(1);
  return StopKind::Step;
}

StopKind ReplayDebugTarget::reverse_step() {
  const std::uint64_t now = s_.position().icount;
  if (now == 0) return StopKind::HistoryBegin;
  go_to(now - 1);
  return StopKind::Step;
}

// Cost: one forward replay of the stretch from the checkpoint before `now`
// to `now` (and of each earlier stretch while it has no hit), plus a stop
// and a resume per hit, plus the run back to the last hit.
StopKind ReplayDebugTarget::reverse_resume(std::span<const std::uint64_t> bps,
                                           const std::function<bool()>& interrupted) {
  std::uint64_t hi = s_.position().icount;
  const std::vector<std::uint64_t> cps = checkpoints();
  while (hi > 0) {
    // The stretch [lo, hi): from the last checkpoint below hi.
    const std::uint64_t lo = *std::prev(std::lower_bound(cps.begin(), cps.end(), hi));
    go_to(lo);
    std::optional<std::pair<std::uint64_t, std::uint64_t>> last;  // icount, eip
    for (;;) {
      ReplayTarget::RunStop why = s_.target().run_to_breakpoints(bps, hi, interrupted);
      if (why == ReplayTarget::RunStop::Interrupted) {
        regs_.reset();
        return StopKind::Interrupted;
      }
      if (why != ReplayTarget::RunStop::Breakpoint) break;
      const std::uint64_t at = s_.position().icount;
      if (at >= hi) break;
      last = {at, s_.registers().rip()};
      s_.step(1);  // off the breakpoint (it would stop the next run at once)
    }
    if (last) {
      go_to(last->first, last->second);
      return StopKind::Breakpoint;
    }
    hi = lo;
  }
  go_to(0);
  return StopKind::HistoryBegin;
}

std::string ReplayDebugTarget::when() {
  const Position p = s_.position();
  std::string loc = fmt::format("icount {}, rip {:#x}", p.icount, p.rip);
  if (s_.target().branch_counting()) {
    const std::uint64_t br = s_.brctr();
    loc += fmt::format(", brctr {} (location {:#x}:{})", br, p.rip, br);
  }
  return loc + "\n";
}

std::string ReplayDebugTarget::monitor(std::string_view command) {
  std::string_view cmd = command.substr(0, command.find(' '));
  std::string_view arg = cmd.size() < command.size() ? command.substr(cmd.size() + 1) : std::string_view{};
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  if (cmd == "when") return when();
  if (cmd == "goto") {
    if (arg.empty()) throw bad_input("monitor goto needs a location: eip[:brctr[:cx]] or icount=N");
    StopPoint sp = resolve_stop_point(s_.dir(), arg);
    regs_.reset();
    s_.run_until(sp);
    return when();
  }
  if (cmd == "checkpoints") {
    std::string out;
    const auto& idx = s_.index();
    if (!idx) return "no replay index: no checkpoints\n";
    for (std::size_t i = 0; i < idx->checkpoints.size(); i++) {
      out += fmt::format("icount {}", idx->checkpoints[i]);
      if (i < idx->checkpoint_brctr.size() && idx->checkpoint_brctr[i] != ReplayIndex::kUnknown)
        out += fmt::format(", brctr {}", idx->checkpoint_brctr[i]);
      out += "\n";
    }
    return out + fmt::format("the recording ends at icount {}\n", idx->final_icount);
  }
  if (cmd == "help" || cmd.empty()) {
    return "monitor when               the current instant: icount, rip, brctr and its location\n"
           "monitor goto LOC           go to eip[:brctr[:cx]] (eip may be a symbol) or icount=N\n"
           "monitor checkpoints        the replay index's checkpoints\n";
  }
  throw bad_input(fmt::format("unknown monitor command '{}' (monitor help lists them)", command));
}

}  // namespace xentt::debug
