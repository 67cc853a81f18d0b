#include "xentt/debug/replay_debug_target.h"

#include <fmt/format.h>

#include <algorithm>

#include "xentt/base/error.h"
#include "xentt/session/trace_window.h"
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

namespace {
std::vector<MemoryWatch> ranges_of(std::span<const Watchpoint> wps) {
  std::vector<MemoryWatch> r;
  for (const Watchpoint& w : wps)
    r.push_back({w.addr, w.len, w.kind != Watchpoint::Write, w.kind != Watchpoint::Read, false});
  return r;
}

// Stops the plugin's memory watch however the caller leaves.
struct WatchGuard {
  BranchCounting* bc = nullptr;
  ~WatchGuard() {
    if (!bc) return;
    try {
      bc->watch_memory({}, WatchMode::First);
    } catch (...) {  // the replay is gone: nothing to stop
    }
  }
};
}  // namespace

bool ReplayDebugTarget::can_watch() const { return s_.options().memory_watch && s_.options().branch_counter; }

BranchCounting& ReplayDebugTarget::watcher() {
  BranchCounting* bc = s_.target().branch_counting();
  if (!bc) throw bad_input("watchpoints need the branch-trace plugin (xentt-bt.so)");
  s_.branch_status();  // settled: the plugin's icount is exact here
  return *bc;
}

Stop ReplayDebugTarget::resume(const Triggers& t, const std::function<bool()>& interrupted) {
  regs_.reset();
  WatchGuard guard;
  const std::vector<MemoryWatch> ranges = ranges_of(t.watchpoints);
  if (!ranges.empty()) {
    guard.bc = &watcher();
    guard.bc->watch_memory(ranges, WatchMode::First);
  }
  // With watchpoints the run goes in stretches (1M instructions, doubling
  // to 64M): the plugin notes an access but cannot pause the replay, so a
  // hit is reached again from the checkpoint before it.
  const std::optional<std::uint64_t> end = final_icount();
  for (std::uint64_t stretch = 1'000'000;; stretch = std::min<std::uint64_t>(stretch * 2, 64'000'000)) {
    std::optional<std::uint64_t> until = end;
    if (!ranges.empty()) {
      const std::uint64_t now = s_.position().icount;
      until = end ? std::min(*end, now + stretch) : now + stretch;
    }
    const ReplayTarget::RunStop why = s_.target().run_to_breakpoints(t.breakpoints, until, interrupted);
    if (!ranges.empty()) {
      MemoryHits h = guard.bc->memory_hits();
      if (!h.kept.empty()) {
        const MemoryAccess a = h.kept.front();
        guard.bc->watch_memory({}, WatchMode::First);
        guard.bc = nullptr;
        go_to(a.icount + 1);
        return {StopKind::Watchpoint, t.watchpoints[a.watch], a.addr};
      }
    }
    switch (why) {
      case ReplayTarget::RunStop::Breakpoint: return {StopKind::Breakpoint};
      case ReplayTarget::RunStop::Interrupted: return {StopKind::Interrupted};
      case ReplayTarget::RunStop::End: return {StopKind::HistoryEnd};
      case ReplayTarget::RunStop::Icount:
        if (!end || s_.position().icount >= *end) return {StopKind::HistoryEnd};
        break;  // the end of a stretch
    }
  }
}

Stop ReplayDebugTarget::step() {
  const std::uint64_t now = s_.position().icount;
  if (auto end = final_icount(); end && now >= *end) return {StopKind::HistoryEnd};
  regs_.reset();
  s_.step(1);
  return {StopKind::Step};
}

Stop ReplayDebugTarget::reverse_step() {
  const std::uint64_t now = s_.position().icount;
  if (now == 0) return {StopKind::HistoryBegin};
  go_to(now - 1);
  return {StopKind::Step};
}

// The instants before `hi` a trigger stops at: a breakpoint's (its icount,
// about to execute) and a watched access's (the icount after the accessing
// instruction). Each stretch [lo, hi) from the checkpoint below hi is
// replayed to hi - 1 (a breakpoint at hi - 1 is seen there; an access by
// the instruction at hi - 1 would stop at hi itself, not before it),
// noting breakpoint hits and the plugin's last access; the latest of them
// wins. A stretch without any sends it to the checkpoint before.
// Cost: one forward replay of each stretch looked at, a stop and a resume
// per breakpoint hit, and the run back to the winner.
Stop ReplayDebugTarget::reverse_resume(const Triggers& t, const std::function<bool()>& interrupted) {
  std::uint64_t hi = s_.position().icount;
  const std::vector<std::uint64_t> cps = checkpoints();
  const std::vector<MemoryWatch> ranges = ranges_of(t.watchpoints);
  while (hi > 0) {
    const std::uint64_t lo = *std::prev(std::lower_bound(cps.begin(), cps.end(), hi));
    go_to(lo);
    WatchGuard guard;
    if (!ranges.empty()) {
      guard.bc = &watcher();
      guard.bc->watch_memory(ranges, WatchMode::Last);
    }
    std::optional<std::pair<std::uint64_t, std::uint64_t>> last_bp;  // icount, eip
    // A breakpoint at the checkpoint itself: whether a run from there stops
    // at once is the engine's business, so it is noted here and stepped off
    // (at lo == hi - 1 the loop below notes it without running: stepping
    // would execute the instruction before now, whose access is not before
    // now).
    if (const std::uint64_t rip = s_.registers().rip();
        lo + 1 < hi && std::find(t.breakpoints.begin(), t.breakpoints.end(), rip) != t.breakpoints.end()) {
      last_bp = {lo, rip};
      s_.step(1);
    }
    for (;;) {
      ReplayTarget::RunStop why = s_.target().run_to_breakpoints(t.breakpoints, hi - 1, interrupted);
      if (why == ReplayTarget::RunStop::Interrupted) {
        regs_.reset();
        return {StopKind::Interrupted};
      }
      const std::uint64_t at = s_.position().icount;
      const std::uint64_t rip = s_.registers().rip();
      if (why == ReplayTarget::RunStop::Icount && at == hi - 1 &&
          std::find(t.breakpoints.begin(), t.breakpoints.end(), rip) != t.breakpoints.end())
        last_bp = {at, rip};
      if (why != ReplayTarget::RunStop::Breakpoint || at >= hi - 1) {
        if (why == ReplayTarget::RunStop::Breakpoint && at == hi - 1) last_bp = {at, rip};
        break;
      }
      last_bp = {at, rip};
      s_.step(1);  // off the breakpoint (it would stop the next run at once)
    }
    std::optional<MemoryAccess> last_access;
    if (guard.bc) {
      MemoryHits h = guard.bc->memory_hits();
      if (!h.kept.empty()) last_access = h.kept.back();
    }
    if (last_access && (!last_bp || last_access->icount + 1 > last_bp->first)) {
      go_to(last_access->icount + 1);
      return {StopKind::Watchpoint, t.watchpoints[last_access->watch], last_access->addr};
    }
    if (last_bp) {
      go_to(last_bp->first, last_bp->second);
      return {StopKind::Breakpoint};
    }
    hi = lo;
  }
  go_to(0);
  return {StopKind::HistoryBegin};
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
  if (cmd == "checkpoint") {
    const bool added = s_.add_checkpoint();
    return (added ? "checkpoint saved at " : "a checkpoint is here already: ") + when();
  }
  if (cmd == "trace") {
    // trace START END FILE: the branch trace of a window, as trace_task
    // writes its log; the target ends at END.
    std::vector<std::string> args;
    for (std::size_t i = 0; i < arg.size();) {
      std::size_t j = arg.find(' ', i);
      if (j == std::string_view::npos) j = arg.size();
      if (j > i) args.emplace_back(arg.substr(i, j - i));
      i = j + 1;
    }
    if (args.size() != 3) throw bad_input("monitor trace START END FILE (FILE: the trace log, an absolute path)");
    const std::filesystem::path log(args[2]);
    if (!log.is_absolute())
      throw bad_input("monitor trace: " + args[2] + " is relative to the server, not to gdb: give an absolute path");
    TraceWindow w{parse_window_end(s_.dir(), args[0]), parse_window_end(s_.dir(), args[1]), log};
    regs_.reset();
    TracedWindow t = w.trace(s_);
    return fmt::format("wrote {}: {} branch records from icount {} to {} (bts_extract turns it into a .bts)\n",
                       log.string(), t.records, t.start.icount, t.end.icount) +
           when();
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
           "monitor checkpoints        the replay index's checkpoints\n"
           "monitor checkpoint         save one here (this replay only): going back near here gets faster\n"
           "monitor trace START END FILE   the branch trace of a window into the trace log FILE (absolute)\n";
  }
  throw bad_input(fmt::format("unknown monitor command '{}' (monitor help lists them)", command));
}

}  // namespace xentt::debug
