#include "xentt/session/replay_session.h"

#include <fmt/format.h>

#include <algorithm>

#include "xentt/base/error.h"
#include "xentt/session/background_replay.h"
#include "xentt/session/index_builder.h"
#include "xentt/session/recording_check.h"

namespace xentt {
namespace fs = std::filesystem;

std::unique_ptr<ReplaySession> ReplaySession::start(const StateDir& dir, const SessionOptions& opts) {
  VmConfig cfg = dir.config();
  std::unique_ptr<ReplaySession> s(new ReplaySession(dir, opts));
  s->engine_ = make_engine(cfg.engine);
  require_complete_recording(dir, *s->engine_);
  s->index_ = opts.ensure_index
                  ? std::optional(ensure_replay_index(dir, *s->engine_, opts))
                  : load_replay_index(dir, s->engine_->recording_id(dir.file(StateDir::kRecordingDir)));
  ReplayOptions ro;
  ro.branch_counter = opts.branch_counter;
  ro.one_insn_per_tb = opts.one_insn_per_tb;
  ro.memory_watch = opts.memory_watch;
  ro.pcap = opts.pcap;
  if (!ro.pcap.empty()) cfg.require_network_for(ro.pcap.string());
  s->replay_ = start_engine_replay(*s->engine_, dir, cfg, "", ro);
  if (s->index_) s->replay_->set_reached(s->index_->final_icount);
  return s;
}

Position ReplaySession::position() { return {replay_->icount(), replay_->registers().rip()}; }

void ReplaySession::check_in_recording(Icount target) const {
  if (index_ && target.value > index_->final_icount) {
    throw bad_input(fmt::format("icount {} is beyond the end of the recording (it ends at icount {})", target.value,
                                index_->final_icount));
  }
}

void ReplaySession::run_forward(Icount target) {
  check_in_recording(target);
  uint64_t cur = replay_->icount();
  if (target.value < cur) {
    throw bad_input(fmt::format("icount {} is behind the current position (icount {}){}", target.value, cur,
                                armed_ ? ", the traced window's start" : ""));
  }
  replay_->run_to_icount(target.value);
}

void ReplaySession::run_until(Icount target) {
  check_in_recording(target);
  if (armed_) return run_forward(target);
  // A checkpoint between here and the target saves running the whole way.
  uint64_t cur = replay_->icount();
  bool checkpoint_between = false;
  if (index_) {
    for (uint64_t c : index_->checkpoints) checkpoint_between |= c > cur && c <= target.value;
  }
  if ((checkpoint_between || target.value < cur) && replay_->branch_counting()) {
    // QEMU's own seek would load a snapshot the plugin does not hear about.
    load_checkpoint(last_checkpoint([&](const Checkpoint& c) { return c.icount <= target.value; }));
    replay_->run_to_icount(target.value);
  } else if (checkpoint_between) {
    replay_->seek_to_icount(target.value);
  } else {
    replay_->run_to_icount(target.value);
  }
}

BranchCounting& ReplaySession::counter() {
  if (BranchCounting* bc = replay_->branch_counting()) return *bc;
  throw bad_input("this replay runs without the branch-trace plugin: branch counts are not available");
}

uint64_t ReplaySession::brctr() { return branch_status().brctr; }
BranchStatus ReplaySession::branch_status() { return settle_counter().status(); }

BranchCounting& ReplaySession::settle_counter() {
  BranchCounting& bc = counter();
  bc.settle();
  return bc;
}

ReplaySession::Checkpoint ReplaySession::last_checkpoint(const std::function<bool(const Checkpoint&)>& fits) const {
  Checkpoint best{0, 0};
  if (index_) {
    for (size_t i = 0; i < index_->checkpoints.size(); i++) {
      Checkpoint c{index_->checkpoints[i], index_->checkpoint_brctr[i]};
      if (c.brctr != ReplayIndex::kUnknown && fits(c)) best = c;
    }
  }
  return best;
}

void ReplaySession::load_checkpoint(const Checkpoint& c) {
  replay_->load_checkpoint(checkpoint_tag(c.icount));
  counter().set(c.icount, c.brctr);
}

// Watching costs a callback per block, so the replay first closes in on
// the target counting only: a probe of a million instructions, then steps
// that aim at half the remaining branches at the highest branch density
// seen so far, each ending with the counts settled (exact). Within
// kWatchWindow branches the watch takes over. A step that overshoots (the
// density more than doubled) is run again from the checkpoint: counting up
// to its start, watching through it. Measured on a Linux boot, whose
// density varies twofold (7 to 13 instructions per branch): a stop 8M
// instructions after its checkpoint took 8.7 s when the watch ran on to
// the next checkpoint, 250M instructions later.
ReplaySession::Found ReplaySession::find_brctr(uint64_t target) {
  constexpr uint64_t kWatchWindow = 1 << 16;
  const Checkpoint from = last_checkpoint([&](const Checkpoint& c) { return c.brctr < target; });
  load_checkpoint(from);
  uint64_t icount = from.icount, brctr = from.brctr;
  // Back to `icount`, the last position known below the target, to watch
  // from there (up to `bound`, when the count is known to reach it by then).
  auto watch_again = [&](std::optional<uint64_t> bound) {
    load_checkpoint(from);
    if (icount > from.icount) replay_->run_to_icount(icount);
    return watch_for_brctr(target, icount, bound);
  };
  double per_branch = 0;  // the fewest instructions per branch of any step so far
  while (target - brctr > kWatchWindow && !at_final(icount)) {
    const uint64_t step = per_branch > 0 ? uint64_t(per_branch * double(target - brctr) / 2) : 1'000'000;
    const uint64_t next = capped_icount(icount + std::max<uint64_t>(step, 1));
    try {
      replay_->run_to_icount(next);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::BadInput) throw;
      return watch_again(std::nullopt);  // ran off the end (no index says where it is)
    }
    const uint64_t now = branch_status().brctr;
    if (now >= target) return watch_again(next);
    const double d = double(next - icount) / double(std::max<uint64_t>(now - brctr, 1));
    per_branch = per_branch > 0 ? std::min(per_branch, d) : d;
    icount = next;
    brctr = now;
  }
  return watch_for_brctr(target, icount, std::nullopt);
}

ReplaySession::Found ReplaySession::watch_for_brctr(uint64_t target, uint64_t icount, std::optional<uint64_t> bound) {
  BranchCounting& bc = counter();
  bc.watch(target);
  const uint64_t max_step = index_ && index_->interval ? index_->interval : 50'000'000;
  for (uint64_t step = 1'000'000;; step = std::min(step * 2, max_step)) {
    uint64_t stop_at = capped_icount(bound && *bound > icount ? *bound : icount + step);
    bool ended = false;
    try {
      replay_->run_to_icount(stop_at);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::BadInput) throw;
      ended = true;  // ran off the end
    }
    auto st = bc.status();
    if (st.hit_icount) {
      bc.watch(0);
      return {*st.hit_icount, *st.hit_pc, *st.hit_brctr};
    }
    if (ended || at_final(stop_at)) {
      bc.watch(0);
      throw bad_input(fmt::format("brctr {} is beyond the end of the recording (it ends with brctr {})", target,
                                  st.brctr));
    }
    icount = stop_at;
  }
}

uint64_t ReplaySession::capped_icount(uint64_t icount) const {
  return index_ && index_->final_icount ? std::min(icount, index_->final_icount) : icount;
}
bool ReplaySession::at_final(uint64_t icount) const {
  return index_ && index_->final_icount && icount >= index_->final_icount;
}

Arrival ReplaySession::run_until(const Location& loc) {
  if (!loc.brctr) {
    if (loc.cx) throw bad_input("location " + format_location(loc) + ": cx needs a brctr too");
    if (!replay_->run_to_eip(loc.eip)) {
      throw bad_input(fmt::format("eip {:#x} is not reached before the end of the recording", loc.eip));
    }
    Arrival a{replay_->icount(), 0};
    if (replay_->branch_counting()) a.brctr = brctr();
    return a;
  }
  const uint64_t want = *loc.brctr;
  if (armed_) throw bad_input("location " + format_location(loc) + ": a brctr stop needs a seek, which would cut the trace");
  Found f = find_brctr(want);
  if (f.brctr != want) {
    throw bad_input(fmt::format(
        "location {}: no instruction executes with brctr {} (an interrupt arrived on the landing of branch {}; "
        "brctr goes from {} to {} at icount {})",
        format_location(loc), want, want, want - 1, f.brctr, f.icount));
  }
  run_until(Icount{f.icount});
  // Not at f.pc when branch `want` is an exception's delivery: QEMU 10.0.2
  // pauses at f.icount before delivering it, or after (it runs the faulting
  // instruction outside the icount budget, racing the stop request;
  // measured on the rep movs fault of a Linux boot: before, 4 times in 4).
  // Running on to eip delivers it and stops at the handler's first
  // instruction, still at f.icount. Costs one gdbstub round trip per stop.
  if (replay_->registers().rip() != loc.eip) {
    // Otherwise eip lies on the straight-line path after branch `want`: its
    // first hit, unless another branch comes first.
    if (!replay_->run_to_eip(loc.eip) || brctr() != want) {
      throw bad_input(fmt::format("location {}: eip is not reached while brctr is {} (branch {} lands at {:#x})",
                                  format_location(loc), want, want, f.pc));
    }
  }
  if (loc.cx) {
    // Each iteration of a rep instruction is one instruction count.
    for (int guard = 0; guard < 1 << 24; guard++) {
      Registers r = replay_->registers();
      if (r.rip() != loc.eip) break;
      if (r.at(Reg::rcx) == *loc.cx) return {replay_->icount(), want};
      replay_->run_to_icount(replay_->icount() + 1);
    }
    throw bad_input(fmt::format("location {}: the rep instruction at eip never has rcx == {:#x}",
                                format_location(loc), *loc.cx));
  }
  return {replay_->icount(), want};
}

void ReplaySession::arm(const fs::path& path, const std::string& header_json) {
  settle_counter().arm(path, header_json);
  armed_ = true;
}
uint64_t ReplaySession::disarm() {
  armed_ = false;
  return settle_counter().disarm();
}
void ReplaySession::close_log() { counter().close_log(); }

bool ReplaySession::add_checkpoint() {
  if (!index_) throw bad_input("this replay has no index: checkpoints need one");
  if (armed_) throw bad_input("a checkpoint cannot be saved while a window is traced");
  const uint64_t ic = replay_->icount();
  auto& cps = index_->checkpoints;
  auto at = std::lower_bound(cps.begin(), cps.end(), ic);
  if (at != cps.end() && *at == ic) return false;
  const uint64_t br = replay_->branch_counting() ? brctr() : ReplayIndex::kUnknown;
  replay_->checkpoint(checkpoint_tag(ic));
  const auto i = at - cps.begin();
  cps.insert(at, ic);
  if (index_->checkpoint_brctr.size() + 1 == cps.size())
    index_->checkpoint_brctr.insert(index_->checkpoint_brctr.begin() + i, br);
  return true;
}

MemoryHits ReplaySession::accesses(std::span<const MemoryWatch> ranges, Icount from, Icount to) {
  if (to.value < from.value) throw bad_input(fmt::format("icount {} is before icount {}", to.value, from.value));
  check_in_recording(to);
  run_until(from);
  BranchCounting& bc = settle_counter();
  bc.watch_memory(ranges, WatchMode::Log);
  try {
    replay_->run_to_icount(to.value);
  } catch (...) {
    bc.watch_memory({}, WatchMode::Log);
    throw;
  }
  MemoryHits hits = bc.memory_hits();
  bc.watch_memory({}, WatchMode::Log);
  return hits;
}

void ReplaySession::step(uint64_t n) { replay_->run_to_icount(replay_->icount() + n); }

uint64_t ReplaySession::run_to_end() {
  uint64_t final_icount = index_ ? index_->final_icount : 0;
  auto progress = [&](uint64_t ic) {
    if (opts_.progress) opts_.progress(ic, final_icount);
  };
  if (!index_) return replay_->run_to_end(progress);  // approximate: see find_last_inside()
  // The end is known: break there exactly. A recording that cannot get there
  // (damaged, or replayed by a different QEMU) ends early and says so. Then
  // let it run out of log, so the console holds everything recorded.
  try {
    replay_->run_to_icount(final_icount, progress);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    throw runtime_error(fmt::format("the replay ended before the recorded end (icount {}): {}", final_icount, e.what()));
  }
  // Past the end the log runs out within a few instructions; a replay that
  // runs on far past it says the index ends too early. (Without this, such
  // an index verified: the console is compared after the log runs out.)
  if (uint64_t ran_out = replay_->run_to_end(progress); ran_out > final_icount + ReplayIndex::kEndMargin) {
    throw runtime_error(fmt::format(
        "the replay ran on to icount {}, {} instructions past the index's end (icount {}): the replay index is "
        "wrong (delete {} to rebuild it)",
        ran_out, ran_out - final_icount, final_icount, dir_.file(StateDir::kIndex).string()));
  }
  return final_icount;
}

void ReplaySession::run_until(const StopPoint& sp) {
  if (sp.icount) return run_until(*sp.icount);
  if (sp.symbol && sp.location->eip == 0)
    throw bad_input("location '" + *sp.symbol + "': the symbol was not resolved (resolve_stop_point)");
  run_until(*sp.location);
}

void ReplaySession::resume() { replay_->resume(); }
void ReplaySession::pause() { replay_->pause(); }
Registers ReplaySession::registers() { return replay_->registers(); }
fs::path ReplaySession::console_path() const { return replay_->console_file(); }
void ReplaySession::stop() { replay_->stop(); }
void ReplaySession::detach() { replay_->detach(); }

}  // namespace xentt
