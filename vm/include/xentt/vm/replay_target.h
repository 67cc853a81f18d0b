// xentt/vm/replay_target.h: what only a replay offers on top of a target:
// the instruction count, runs and seeks to a count, checkpoints, the end of
// the recording, and counting (and recording) the guest's taken branches.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "xentt/vm/target.h"

namespace xentt {

// The branch counter's state at a pause.
struct BranchStatus {
  std::uint64_t icount = 0;
  std::uint64_t brctr = 0;
  bool armed = false;
  std::uint64_t records = 0;  // records handed to the trace log so far
  std::uint64_t events = 0, faults = 0, unexplained = 0;
  // The first block start with brctr >= the watched count, when seen.
  std::optional<std::uint64_t> hit_icount, hit_pc, hit_brctr;
};

// A range of guest memory whose accesses are watched.
struct MemoryWatch {
  std::uint64_t addr = 0, len = 0;
  bool read = false, write = true;
  bool physical = false;  // guest-physical, else guest-virtual (the vCPU's current tables)
};
// One access to a watched range.
struct MemoryAccess {
  std::uint64_t icount = 0;  // of the accessing instruction: the stop after it is icount + 1
  std::uint64_t pc = 0, brctr = 0;  // the instruction's location {pc, brctr}
  std::uint64_t addr = 0;    // the address accessed (in the range's space)
  unsigned size = 0;
  bool write = false;
  std::size_t watch = 0;     // which MemoryWatch
  std::string data;          // Log mode: a virtual range's bytes after a write (up to 64)
};
// Which accesses a watch keeps: the first after now, the last one before
// the next pause, or every one (up to 100,000).
enum class WatchMode { First, Last, Log };
struct MemoryHits {
  std::uint64_t count = 0;          // every access seen, also those not kept
  std::vector<MemoryAccess> kept;
};

// Counting the guest's taken branches in a replay (the brctr of DESIGN.md's
// time coordinate), watching for a count, and recording every branch into
// a trace log. Every call requires the replay to be paused.
class BranchCounting {
 public:
  virtual ~BranchCounting() = default;
  // Makes the counts exact at this pause: judges now what landed where the
  // vCPU is paused (a taken branch, an interrupt or fault already
  // delivered), which the counter would otherwise judge when the guest
  // runs on. status(), arm() and disarm() are exact after this.
  virtual void settle() = 0;
  virtual BranchStatus status() = 0;
  // After loading a checkpoint: the counts at that point.
  virtual void set(std::uint64_t icount, std::uint64_t brctr) = 0;
  // Watch for `brctr` (0: stop watching). Watching slows the replay.
  virtual void watch(std::uint64_t brctr) = 0;
  // Opens the trace log at `path` (the first time) and records the branches
  // after this point until disarm(). `header_json` is a JSON object.
  virtual void arm(const std::filesystem::path& path, const std::string& header_json) = 0;
  // Watches memory accesses from now on (an empty `ranges`: stop). Needs a
  // replay started with ReplayOptions::memory_watch. Hits are kept until
  // the next call.
  virtual void watch_memory(std::span<const MemoryWatch> ranges, WatchMode mode) = 0;
  virtual MemoryHits memory_hits() = 0;
  // Stops recording; returns once the records are written, with the total.
  virtual std::uint64_t disarm() = 0;
  // Writes the trace log's index and trailer and closes it.
  virtual void close_log() = 0;
};

// One running replay of a recording, paused unless told otherwise. Every
// method that runs the guest blocks until it is paused again (or the
// recording ends: then it throws BadInput "beyond the end").
class ReplayTarget : public Target {
 public:
  using Progress = std::function<void(std::uint64_t icount)>;

  // The instruction count the replay is paused at.
  virtual std::uint64_t icount() = 0;
  // Runs forward to exactly `target`, or, when `target` is behind, loads the
  // nearest checkpoint at or before it and runs forward from there.
  // `progress(icount)` is called about once a second on long runs.
  virtual void run_to_icount(std::uint64_t target, const Progress& progress = {}) = 0;
  // Loads the nearest checkpoint at or before `target` and runs forward to
  // exactly `target`, whatever the current position.
  virtual void seek_to_icount(std::uint64_t target, const Progress& progress = {}) = 0;
  // Runs until the first time the guest is about to execute `eip`. Returns
  // false (paused at the end) when the recording ends first.
  virtual bool run_to_eip(std::uint64_t eip) = 0;
  // Why run_to_breakpoints() returned.
  enum class RunStop { Breakpoint, Icount, Interrupted, End };
  // Runs until the guest is about to execute one of `eips` (the vCPU's rip
  // is then that eip), the replay reaches `until_icount` (when given), the
  // recording ends, or `interrupted()` (asked about 5 times a second) says
  // so. Each breakpoint hit costs a stop and a resume (~1 ms for engine
  // qemu). Whether a run that starts at one of `eips` stops there at once
  // is the engine's: callers step off a breakpoint first, as gdb does.
  virtual RunStop run_to_breakpoints(std::span<const std::uint64_t> eips, std::optional<std::uint64_t> until_icount,
                                     const std::function<bool()>& interrupted) = 0;
  // Runs to the end of the recording; returns the final instruction count.
  virtual std::uint64_t run_to_end(const Progress& progress = {}) = 0;
  // True when the replay has consumed the whole recording. Waits up to
  // `settle` for the engine to say so.
  virtual bool log_exhausted(std::chrono::milliseconds settle) = 0;
  // The recording provably reaches `icount` (an index's final count): a
  // count frozen at or beyond it is taken as the end of the recording,
  // below it as a slow stretch.
  virtual void set_reached(std::uint64_t icount) = 0;
  // Saves the current point as checkpoint `tag` / loads checkpoint `tag`
  // ("init": the recording's start) and stays paused there.
  virtual void checkpoint(const std::string& tag) = 0;
  virtual void load_checkpoint(const std::string& tag) = 0;
  // Removes checkpoint `tag` (one this program saved) from the recording's
  // checkpoint store; nothing when it is not there.
  virtual void delete_checkpoint(const std::string& tag) = 0;
  // The branch counter, when this replay was started with one.
  virtual BranchCounting* branch_counting() { return nullptr; }

  // This replay's runtime directory (sockets, RAM file, its console),
  // removed by stop(); the console file the replayed guest writes; the
  // engine's process.
  virtual std::filesystem::path runtime_dir() const = 0;
  virtual std::filesystem::path console_file() const = 0;
  virtual int engine_pid() const = 0;
  // False once the engine's process has ended (reaped: a process that died
  // but was not waited for still answers kill(pid, 0), so a supervisor
  // polling that way never saw its QEMU killed by tt_replay -K).
  virtual bool engine_running() = 0;

  // Ends the replay's process and removes its runtime directory; the
  // recording stays.
  virtual void stop() = 0;
  // Leaves the process running when this object goes away (tt_replay -p).
  virtual void detach() = 0;
};

}  // namespace xentt
