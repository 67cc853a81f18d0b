#include "xentt/session/index_builder.h"

#include <fmt/format.h>

#include <chrono>

#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "xentt/session/background_replay.h"
#include "xentt/session/recording_check.h"

namespace xentt {
namespace fs = std::filesystem;

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
static uint64_t find_last_inside(ReplayTarget& replay, uint64_t known_good, uint64_t observed) {
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
  // A log that ends without SHUTDOWN stalls where it runs out (engine qemu:
  // wait_stop in qemu_replay.cc), which can be far below what the first pass observed
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

static ReplayIndex build_locked(const StateDir& dir, Engine& engine, const SessionOptions& opts);

// The branch counter at checkpoint `icount`, where the replay is paused,
// with whatever landed there judged: the plugin decides a transfer when the
// next block starts, and an interrupt delivered right at the checkpoint
// (the demo guest's timer fires every 1M instructions under icount) is only
// seen then. So: watch for the next block start and run one instruction.
// ReplayIndex::kUnknown when that fails.
static uint64_t counted_brctr(ReplayTarget& replay, uint64_t icount) {
  BranchCounting* bc = replay.branch_counting();
  if (!bc) return ReplayIndex::kUnknown;
  bc->watch(1);
  try {
    replay.run_to_icount(icount + 1);
  } catch (...) {
    try {
      bc->watch(0);  // the end of the log came first, and the caller goes on
    } catch (...) {  // the first error says more
    }
    throw;
  }
  auto st = bc->status();
  bc->watch(0);
  return st.hit_icount && *st.hit_icount == icount ? *st.hit_brctr : ReplayIndex::kUnknown;
}

ReplayIndex build_replay_index(const StateDir& dir, const SessionOptions& opts) {
  auto engine = make_engine(dir.config().engine);
  require_complete_recording(dir, *engine);
  FileLock lock(dir.file(StateDir::kIndexLock), FileLock::Wait{});
  return build_locked(dir, *engine, opts);
}

ReplayIndex ensure_replay_index(const StateDir& dir, const SessionOptions& opts) {
  return ensure_replay_index(dir, *make_engine(dir.config().engine), opts);
}

ReplayIndex ensure_replay_index(const StateDir& dir, Engine& engine, const SessionOptions& opts) {
  const std::string id = engine.recording_id(dir.file(StateDir::kRecordingDir));
  if (auto idx = load_replay_index(dir, id)) return *idx;
  require_complete_recording(dir, engine);
  FileLock lock(dir.file(StateDir::kIndexLock), FileLock::Wait{});
  if (auto idx = load_replay_index(dir, id)) return *idx;  // built while we waited
  return build_locked(dir, engine, opts);
}

static ReplayIndex build_locked(const StateDir& dir, Engine& engine, const SessionOptions& opts) {
  VmConfig cfg = dir.config();
  auto started = std::chrono::steady_clock::now();
  // Checkpoints from an earlier, interrupted build stay in the image; they
  // are correct snapshots of this recording, so they only help.
  ReplayOptions ro;
  ro.branch_counter = true;
  ro.use_master_snapshots = true;
  auto replay = start_engine_replay(engine, dir, cfg, "index-", ro);
  ReplayIndex index;
  index.recording = engine.recording_id(dir.file(StateDir::kRecordingDir));
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
    index.checkpoint_brctr.push_back(ReplayIndex::kUnknown);
    try {
      index.checkpoint_brctr.back() = counted_brctr(*replay, target);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::BadInput) break;  // target was the end, or past it: dropped below
      throw;
    }
    if (opts.progress) opts.progress(target, 0);
  }
  uint64_t observed_end = replay->run_to_end([&](uint64_t ic) {
    if (opts.progress) opts.progress(ic, 0);
  });
  // A break a few instructions past the end of the log can still succeed
  // (kEndMargin), so the loop above may have saved a checkpoint beyond the
  // recording: the snapshot of a vCPU that ran out of log. Replays from it
  // never see the end, so the search below, which seeks from it, went
  // astray (measured, the demo guest with a checkpoint 1 to 8 instructions
  // past its end: ends found up to 10 past it, from build to build, or a
  // replay that never moved again). Any such checkpoint lies within a few
  // instructions of where this replay ran out: every checkpoint that close
  // goes, from the index and from the checkpoint store (where QEMU's own
  // seek would still find it), before the search. Checkpoints are ours.
  auto drop_checkpoints_near = [&](uint64_t end) {
    while (index.checkpoints.size() > 1 && index.checkpoints.back() + ReplayIndex::kEndMargin > end) {
      replay->delete_checkpoint(checkpoint_tag(index.checkpoints.back()));
      index.checkpoints.pop_back();
      index.checkpoint_brctr.pop_back();
    }
  };
  drop_checkpoints_near(observed_end);
  // Read the console before the search below: seeking back re-runs the
  // guest, and its serial output is appended again.
  std::string replayed = read_file(replay->console_file());
  index.final_icount = find_last_inside(*replay, index.checkpoints.back(), observed_end);
  // The end can lie far below where the first pass ran out (a log that
  // stalls): the same rule against the end itself, which is what a loaded
  // index is checked by (load_replay_index). These lie inside the log.
  drop_checkpoints_near(index.final_icount);
  std::string recorded = read_file(dir.file(StateDir::kConsole));
  replay->stop();
  if (replayed != recorded) {
    size_t at = 0;
    while (at < replayed.size() && at < recorded.size() && replayed[at] == recorded[at]) at++;
    throw runtime_error(fmt::format(
        "the recording of '{}' does not replay: console output differs at byte {} (recording damaged?)", dir.name(), at));
  }
  index.console_bytes = recorded.size();
  // The checkpoint store now holds this build's checkpoints: its checksums
  // are taken anew, after the replay proved the recording sound.
  engine.seal_recording(dir.machine(cfg), dir.file(StateDir::kRecordingDir));
  index.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  save_replay_index(dir, index);
  return index;
}

}  // namespace xentt
