// xentt/session/replay_session.h: the replay-control library. A
// ReplaySession is one replay of one recorded VM; a process may hold many
// (no globals). It speaks in the time coordinate (location.h) and leaves the
// engine behind the Engine and ReplayTarget interfaces (xentt/vm/).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "xentt/session/location.h"
#include "xentt/session/replay_index.h"
#include "xentt/session/state_dir.h"
#include "xentt/vm/engine.h"
#include "xentt/vm/replay_target.h"

namespace xentt {

// Where a paused replay is.
struct Position {
  uint64_t icount = 0;
  uint64_t rip = 0;
};

struct SessionOptions {
  // Build the replay index (one full replay that saves checkpoints) first if
  // the recording has none. Without it, backward seeks restart from the
  // recording's beginning.
  bool ensure_index = true;
  // Called during long runs with the current instruction count and, when
  // known, the final one (0 when unknown).
  std::function<void(uint64_t icount, uint64_t final_icount)> progress;
  // Load the branch-trace plugin (exact brctr, stops at brctr locations,
  // tracing). About 10% slower replays while only counting.
  bool branch_counter = true;
  // Ground-truth mode for tests: one instruction per translated block.
  bool one_insn_per_tb = false;
  // Memory watchpoints (accesses(), watch_memory()): several times slower.
  bool memory_watch = false;
  // Non-empty: the guest's network traffic as a pcap file (a VM recorded
  // with networking). Only a replay that runs once from start to end
  // writes the recording's traffic whole: a seek back replays packets again.
  std::filesystem::path pcap;
};

// What ReplaySession::run_until(Location) found, for callers that report it.
struct Arrival {
  uint64_t icount = 0;
  uint64_t brctr = 0;
};

class ReplaySession {
 public:
  // Starts a replay of `dir`, paused at instruction 0. Its runtime files go
  // to dir/replays/<id>/ (id: this process's pid and a counter).
  static std::unique_ptr<ReplaySession> start(const StateDir& dir, const SessionOptions& opts = {});

  Position position();
  // Runs (or seeks back) to exactly this instruction count, loading a
  // checkpoint when one lies between here and the target.
  void run_until(Icount target);
  // Runs on from here to exactly this instruction count, every instruction
  // on the way executed (no checkpoint loads): what a traced window needs,
  // and what a benchmark of replay speed must time. Throws BadInput for a
  // target behind the current position or past the recording's end.
  void run_forward(Icount target);
  // Runs until the location. Without brctr: eip's first hit after the
  // current position. With brctr: the guest about to execute eip with
  // exactly that branch count (found by watching the count from the nearest
  // checkpoint, then seeking to the instruction count where it is reached);
  // with cx too: the iteration of the rep instruction at eip where rcx ==
  // cx. Throws BadInput when the location does not exist in the recording.
  Arrival run_until(const Location& loc);
  // The branch counter here (needs the plugin).
  uint64_t brctr();
  // All the branch counter knows here: its icount and brctr, records, events.
  BranchStatus branch_status();
  // Tracing: records every taken branch into the trace log at `path` from
  // now until disarm(); returns the number of records written. The header
  // is a JSON object (TraceWindow writes one naming the window).
  void arm(const std::filesystem::path& path, const std::string& header_json);
  uint64_t disarm();
  void close_log();
  // Lets the guest run / stops it wherever it has got to.
  void resume();
  void pause();
  // n instructions forward.
  void step(uint64_t n = 1);
  // Runs to the end; returns the final instruction count.
  uint64_t run_to_end();
  // Saves a checkpoint of this instant into this replay's own copy of the
  // checkpoint store and seeks through it from now on (the recording's
  // index is not changed). Returns false when there is one here already.
  // Cost: a snapshot of guest RAM (~0.1 s per 64 MiB).
  bool add_checkpoint();
  // Every access to `ranges` between icount `from` and `to` (the accesses
  // of instructions from..to-1), in order; up to 100,000 (count says how
  // many there were). The replay ends at `to`. Needs memory_watch.
  MemoryHits accesses(std::span<const MemoryWatch> ranges, Icount from, Icount to);
  // A StopPoint (an icount or a location; resolve_stop_point() in
  // vm_symbols.h gives eip by name): run_until() of the one it holds.
  void run_until(const StopPoint& sp);
  Registers registers();
  // The running replay itself: endpoints, its runtime directory, the
  // engine's process; VMI tools read it through this.
  ReplayTarget& target() { return *replay_; }
  const std::optional<ReplayIndex>& index() const { return index_; }
  const StateDir& dir() const { return dir_; }
  const SessionOptions& options() const { return opts_; }
  std::filesystem::path console_path() const;
  // Ends the replay; the recording stays and a new session can start.
  void stop();
  // Leaves the engine process running after this object is gone.
  void detach();

 private:
  void check_in_recording(Icount target) const;
  ReplaySession(StateDir dir, SessionOptions opts) : dir_(std::move(dir)), opts_(std::move(opts)) {}
  StateDir dir_;
  SessionOptions opts_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ReplayTarget> replay_;
  std::optional<ReplayIndex> index_;
  bool armed_ = false;  // tracing: only forward runs (a seek would cut the trace)

  BranchCounting& counter();
  // The counter, settled: its counts are exact at this pause. Cost (engine
  // qemu): two gdbstub round trips and one to the plugin.
  BranchCounting& settle_counter();
  struct Checkpoint { uint64_t icount, brctr; };
  // The last checkpoint whose brctr is known and that `fits`; "init"
  // (0, 0) when none does.
  Checkpoint last_checkpoint(const std::function<bool(const Checkpoint&)>& fits) const;
  // Loads it and tells the plugin where the guest now is.
  void load_checkpoint(const Checkpoint& c);
  // The icount where brctr first reaches `brctr` at a block start, and the
  // pc and brctr there.
  struct Found { uint64_t icount, pc, brctr; };
  Found find_brctr(uint64_t brctr);
  // Watches from `icount`, where the replay is paused below `brctr`, in
  // growing steps; `bound`: an icount the count is known to reach by.
  Found watch_for_brctr(uint64_t brctr, uint64_t icount, std::optional<uint64_t> bound);
  // `icount`, no further than the end of the recording (when known).
  uint64_t capped_icount(uint64_t icount) const;
  bool at_final(uint64_t icount) const;
};

}  // namespace xentt
