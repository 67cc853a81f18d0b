#include "xentt/session/replay_session.h"

#include <fmt/format.h>
#include <unistd.h>

#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>
#include <chrono>

#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "vm/qemu/log_sums.h"

namespace xentt {
namespace fs = std::filesystem;

void require_complete_recording(const StateDir& dir) {
  switch (dir.recording_state()) {
    case RecordingState::Complete: break;
    case RecordingState::Recording:
      throw bad_input("VM '" + dir.name() + "' is still recording (stop it with tt_record -S " + dir.name() + ")");
    case RecordingState::Incomplete:
      throw bad_input("the recording of '" + dir.name() + "' at " + dir.path().string() +
                      " terminated abnormally and cannot be replayed (tt_record -D " + dir.name() + " cleans it)");
  }
  fs::path log = dir.file("recording/replay.bin"), sums_file = dir.file("recording/replay.sums");
  if (!fs::exists(log)) throw bad_input(log.string() + " is missing: no recording to replay");
  // Recordings made before the sums existed have none and replay unchecked.
  if (!fs::exists(sums_file)) return;
  LogSums sums = read_log_sums(sums_file);
  if (auto damage = find_log_damage(log, sums)) throw bad_input(describe(*damage, log, sums));
}

// A runtime directory whose owner is gone was left by a tool killed with
// SIGKILL (its QEMU died with it through PDEATHSIG, xentt/process.h); it
// holds a private snapshot copy of 10+ MB, so each new replay removes those
// first. A recycled pid only delays this.
static void remove_orphaned_runtime_dirs(const StateDir& dir) {
  for (const auto& r : dir.runtime_dirs()) {
    if (r.owner_pid == ::getpid() || process_alive(r.owner_pid)) continue;
    try {
      remove_tree(r.path);
    } catch (const Error&) {  // another replay reaping it at the same time
    }
  }
}

static fs::path new_runtime_dir(const StateDir& dir, const std::string& kind) {
  remove_orphaned_runtime_dirs(dir);
  return dir.new_runtime_dir(kind);
}

// Where the recording really ends. Measured with QEMU 10.0.2: when a replay
// runs out of log, the vCPU can run a few instructions past the recorded end
// before the main loop pauses it (304385768 or 304385775 on the demo guest,
// from run to run), and a replay-break beyond the end can even succeed, so
// neither the count seen at the end-of-log SHUTDOWN nor the reachability of a
// break tells the end. What does: the log closes with a shutdown event after
// its last instruction, which QEMU turns into a SHUTDOWN request once the
// vCPU has used up the log's instructions. A stop at n < T is never followed
// by SHUTDOWN, a stop past T always is, and a stop at T itself either way
// (whether the vCPU asks for more work before it parks is a race). So we
// return the last count a replay can provably stop at inside the recording:
// T-1 or T, the same for every later replay since they break there exactly.
// Gallop down from what we observed, then bisect. Cost: about
// 2*log2(overshoot) seeks, each from the nearest checkpoint, plus a short
// settle wait per probe.
static uint64_t find_last_inside(Replay& replay, uint64_t known_good, uint64_t observed) {
  constexpr auto settle = std::chrono::milliseconds(300);
  auto within_log = [&](uint64_t n) {
    try {
      replay.run_to_icount(n);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::BadInput) return false;  // the end of the log came first
      throw;
    }
    return !replay.log_exhausted(settle);
  };
  uint64_t lo = known_good, hi = observed;  // lo is within the log; observed may be past it
  replay.set_reached(lo);
  if (within_log(hi)) return hi;
  // A log that ends without SHUTDOWN stalls where it runs out (wait_stop in
  // qemu_engine.cc), which can be far below what the first pass observed
  // (a guest runs on after the log ends until something stops it).
  if (uint64_t stalled = replay.icount(); stalled > lo && stalled < hi) hi = stalled + 1;
  // The overshoot is usually a handful of instructions: gallop down first.
  for (uint64_t step = 1; hi - lo > step; step *= 2) {
    if (within_log(hi - step)) {
      lo = hi - step;
      break;
    }
    hi -= step;
  }
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    (within_log(mid) ? lo : hi) = mid;
  }
  return lo;
}

static ReplayIndex build_locked(const StateDir& dir, const SessionOptions& opts);

// The branch counter at checkpoint `icount`, where the replay is paused,
// with whatever landed there judged: the plugin decides a transfer when the
// next block starts, and an interrupt delivered right at the checkpoint
// (the demo guest's timer fires every 1M instructions under icount) is only
// seen then. So: watch for the next block start and run one instruction.
// ReplayIndex::kUnknown when that fails.
static uint64_t counted_brctr(Replay& replay, uint64_t icount) {
  BranchCounter* bc = replay.branch_counter();
  if (!bc) return ReplayIndex::kUnknown;
  bc->watch(1);
  replay.run_to_icount(icount + 1);
  auto st = bc->status();
  bc->watch(0);
  return st.hit_icount && *st.hit_icount == icount ? *st.hit_brctr : ReplayIndex::kUnknown;
}

ReplayIndex build_replay_index(const StateDir& dir, const SessionOptions& opts) {
  require_complete_recording(dir);
  FileLock lock(dir.file("index.lock"), FileLock::Wait{});
  return build_locked(dir, opts);
}

ReplayIndex ensure_replay_index(const StateDir& dir, const SessionOptions& opts) {
  if (auto idx = load_replay_index(dir)) return *idx;
  require_complete_recording(dir);
  FileLock lock(dir.file("index.lock"), FileLock::Wait{});
  if (auto idx = load_replay_index(dir)) return *idx;  // built while we waited
  return build_locked(dir, opts);
}

static ReplayIndex build_locked(const StateDir& dir, const SessionOptions& opts) {
  VmConfig cfg = dir.config();
  auto engine = make_engine(cfg.engine);
  auto started = std::chrono::steady_clock::now();
  // Checkpoints from an earlier, interrupted build stay in the image; they
  // are correct snapshots of this recording, so they only help.
  ReplayFeatures features;
  features.branch_counter = true;
  auto replay = engine->start_replay(dir, new_runtime_dir(dir, "index-"), /*use_master_snapshots=*/true, features);
  ReplayIndex index;
  index.interval = cfg.checkpoint_interval;
  index.checkpoints.push_back(0);
  index.checkpoint_brctr.push_back(0);
  for (uint64_t target = cfg.checkpoint_interval; cfg.checkpoint_interval > 0; target += cfg.checkpoint_interval) {
    try {
      replay->run_to_icount(target);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::BadInput) break;  // the recording ended before target
      throw;
    }
    replay->checkpoint(checkpoint_tag(target));
    index.checkpoints.push_back(target);
    index.checkpoint_brctr.push_back(counted_brctr(*replay, target));
    if (opts.progress) opts.progress(target, 0);
  }
  uint64_t observed_end = replay->run_to_end([&](uint64_t ic) {
    if (opts.progress) opts.progress(ic, 0);
  });
  // Read the console before the search below: seeking back re-runs the
  // guest, and its serial output is appended again.
  std::string replayed = read_file(replay->attach_info().console_file);
  index.final_icount = find_last_inside(*replay, index.checkpoints.back(), observed_end);
  std::string recorded = read_file(dir.file("console.log"));
  replay->stop();
  if (replayed != recorded) {
    size_t at = 0;
    while (at < replayed.size() && at < recorded.size() && replayed[at] == recorded[at]) at++;
    throw runtime_error(fmt::format(
        "the recording of '{}' does not replay: console output differs at byte {} (recording damaged?)", dir.name(), at));
  }
  index.console_bytes = recorded.size();
  index.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  save_replay_index(dir, index);
  return index;
}

int end_background_replays(const StateDir& dir) {
  int n = 0;
  for (const auto& r : dir.runtime_dirs()) {
    auto info = r.path / "replay.json";
    if (!fs::exists(info)) continue;  // an index build or a foreground replay: its owner cleans up
    auto j = nlohmann::json::parse(read_file(info), nullptr, false);
    if (!j.is_object()) continue;
    int sup = j.value("supervisor_pid", 0), qemu = j.value("qemu_pid", 0);
    if (process_alive(sup)) ::kill(sup, SIGTERM);
    for (int i = 0; i < 100 && process_alive(sup); i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (process_alive(sup)) ::kill(sup, SIGKILL);
    if (process_alive(qemu)) ::kill(-qemu, SIGKILL);
    remove_tree(r.path);
    n++;
  }
  return n;
}

std::unique_ptr<ReplaySession> ReplaySession::start(const StateDir& dir, const SessionOptions& opts) {
  require_complete_recording(dir);
  std::unique_ptr<ReplaySession> s(new ReplaySession(dir, opts));
  s->index_ = opts.ensure_index ? std::optional(ensure_replay_index(dir, opts)) : load_replay_index(dir);
  s->engine_ = make_engine(dir.config().engine);
  ReplayFeatures f;
  f.branch_counter = opts.branch_counter;
  f.one_insn_per_tb = opts.one_insn_per_tb;
  s->replay_ = s->engine_->start_replay(dir, new_runtime_dir(dir, ""), false, f);
  if (s->index_) s->replay_->set_reached(s->index_->final_icount);
  return s;
}

Position ReplaySession::position() { return {replay_->icount(), replay_->registers().rip}; }

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
  if ((checkpoint_between || target.value < cur) && replay_->branch_counter()) {
    // QEMU's own seek would load a snapshot the plugin does not hear about.
    load_checkpoint(last_checkpoint([&](const Checkpoint& c) { return c.icount <= target.value; }));
    replay_->run_to_icount(target.value);
  } else if (checkpoint_between) {
    replay_->seek_to_icount(target.value);
  } else {
    replay_->run_to_icount(target.value);
  }
}

BranchCounter& ReplaySession::counter() {
  if (BranchCounter* bc = replay_->branch_counter()) return *bc;
  throw bad_input("this replay runs without the branch-trace plugin: branch counts are not available");
}

uint64_t ReplaySession::brctr() { return branch_status().brctr; }
BranchCounterStatus ReplaySession::branch_status() { return settle_counter().status(); }

BranchCounter& ReplaySession::settle_counter() {
  BranchCounter& bc = counter();
  X86Registers r = replay_->registers();
  const uint64_t rsp = r.gpr[7];  // gdb order: rax rbx rcx rdx rsi rdi rbp rsp
  bc.settle(r.rip, rsp, replay_->read_memory(rsp, 48));
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
  BranchCounter& bc = counter();
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
    if (replay_->branch_counter()) a.brctr = brctr();
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
  if (f.pc != loc.eip) {
    // eip lies on the straight-line path after branch `want`: its first hit,
    // unless another branch comes first.
    if (!replay_->run_to_eip(loc.eip) || brctr() != want) {
      throw bad_input(fmt::format("location {}: eip is not reached while brctr is {} (branch {} lands at {:#x})",
                                  format_location(loc), want, want, f.pc));
    }
  }
  if (loc.cx) {
    // Each iteration of a rep instruction is one instruction count.
    for (int guard = 0; guard < 1 << 24; guard++) {
      X86Registers r = replay_->registers();
      if (r.rip != loc.eip) break;
      if (r.gpr[2] == *loc.cx) return {replay_->icount(), want};  // gdb order: rax rbx rcx ...
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
  replay_->run_to_end(progress);
  return final_icount;
}

void ReplaySession::resume() { replay_->resume(); }
void ReplaySession::pause() { replay_->pause(); }
X86Registers ReplaySession::registers() { return replay_->registers(); }
AttachInfo ReplaySession::attach_info() const { return replay_->attach_info(); }
fs::path ReplaySession::console_path() const { return replay_->attach_info().console_file; }
void ReplaySession::stop() { replay_->stop(); }
void ReplaySession::detach() { replay_->detach(); }

}  // namespace xentt
