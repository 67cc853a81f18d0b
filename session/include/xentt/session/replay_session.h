// xentt/replay_session.h: the replay-control library. A ReplaySession is
// one replay of one recorded VM; a process may hold many (no globals). It
// speaks in the time coordinate (xentt/location.h) and leaves the engine
// behind the Engine/Replay interfaces.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "xentt/vm/engine.h"
#include "xentt/session/location.h"
#include "xentt/session/replay_index.h"
#include "xentt/session/state_dir.h"

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
};

// What ReplaySession::run_until(Location) found, for callers that report it.
struct Arrival {
  uint64_t icount = 0;
  uint64_t brctr = 0;
};

// Checks that `dir` holds a finished recording whose log still matches the
// sums taken when it was recorded (xentt/log_sums.h); throws BadInput saying
// why not ("recording terminated abnormally: tt_record -D cleans it", "still
// recording", "replay.bin is damaged: bytes A-B ..."). Cost: one read of the
// log: 0.5 s per GB from the page cache (measured on this project's 2-core
// CI machine), milliseconds for a Linux boot.
void require_complete_recording(const StateDir& dir);

// Replays the whole recording once, saving a checkpoint every
// config.checkpoint_interval instructions into the recording's snapshot
// image, and writes index.json. Cost: one full replay plus the checkpoints.
// Holds index.lock; a concurrent builder waits for it.
ReplayIndex build_replay_index(const StateDir& dir, const SessionOptions& opts = {});

// The index if it exists, else builds it. When another process is building
// it, waits for that one and uses its result.
ReplayIndex ensure_replay_index(const StateDir& dir, const SessionOptions& opts = {});

// Ends every paused replay of `dir` left in the background (tt_replay -p,
// --until): asks each supervisor to stop (SIGTERM), then kills what is left
// (supervisor, QEMU's process group) and removes its runtime directory.
// Returns how many it ended. Cost: up to 5 s per supervisor that ignores us.
int end_background_replays(const StateDir& dir);

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
  // All the plugin knows here: its icount and brctr, records, events.
  BranchCounterStatus branch_status();
  // Tracing: records every taken branch into the trace log at `path` from
  // now until disarm(); returns the number of records written.
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
  X86Registers registers();
  AttachInfo attach_info() const;
  const std::optional<ReplayIndex>& index() const { return index_; }
  const StateDir& dir() const { return dir_; }
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
  std::unique_ptr<Replay> replay_;
  std::optional<ReplayIndex> index_;
  bool armed_ = false;  // tracing: only forward runs (a seek would cut the trace)

  BranchCounter& counter();
  // The plugin told where the vCPU is paused (registers and the 48 bytes at
  // rsp, through the gdbstub) so its counts are exact here. Cost: two
  // gdbstub round trips and one to the plugin.
  BranchCounter& settle_counter();
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
