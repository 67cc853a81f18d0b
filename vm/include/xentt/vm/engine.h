// xentt/engine.h: what every engine offers. The replay-control library and
// the tools talk to these interfaces only; engine qemu is the default, engine
// xen (live control, tracing, no record/replay on stock Xen) comes later.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "vm/qemu/branch_counter.h"
#include "vm/qemu/gdb_remote.h"
#include "xentt/session/state_dir.h"

namespace xentt {

// Where debuggers and VMI tools attach to a running replay.
struct AttachInfo {
  std::filesystem::path gdb_socket;   // gdb remote protocol
  std::filesystem::path qmp_socket;   // QEMU machine protocol
  std::filesystem::path memory_file;  // guest physical memory, mmap()able
  std::filesystem::path console_file; // the replay's serial output
  std::filesystem::path runtime_dir;  // where all of the above live
  uint64_t memory_bytes = 0;
  int pid = 0;                        // the engine's process
};

struct RecordOptions {
  // Asked about twice a second while recording; returning true stops the
  // recording cleanly (tt_record -S reaches the recorder as SIGTERM).
  std::function<bool()> stop_requested;
  // Called once the engine runs and takes commands (QMP is up).
  std::function<void()> started;
  bool verbose = false;
};

// What a replay loads besides the guest.
struct ReplayFeatures {
  // The branch-trace plugin: exact brctr, branch records when armed. Costs
  // about 10% of replay speed while only counting.
  bool branch_counter = false;
  // Every instruction in a block of its own (ground truth for the plugin's
  // block-level inference; several times slower).
  bool one_insn_per_tb = false;
};

// One running replay of a recording, paused unless told otherwise. Every
// method that runs the guest blocks until it is paused again (or the
// recording ends: then it throws BadInput "beyond the end").
class Replay {
 public:
  virtual ~Replay() = default;

  // The instruction count the replay is paused at. Cost: one QMP round trip.
  virtual uint64_t icount() = 0;
  // Runs forward to exactly `target`, or, when `target` is behind, loads the
  // nearest checkpoint at or before it and runs forward from there.
  // `progress(icount)` is called about once a second on long runs.
  virtual void run_to_icount(uint64_t target, const std::function<void(uint64_t)>& progress = {}) = 0;
  // Loads the nearest checkpoint at or before `target` and runs forward to
  // exactly `target`, whatever the current position. Cheaper than
  // run_to_icount() when a checkpoint lies between here and there.
  virtual void seek_to_icount(uint64_t target, const std::function<void(uint64_t)>& progress = {}) = 0;
  // Runs until the first time the guest is about to execute `eip`. Returns
  // false (paused at the end) when the recording ends first.
  virtual bool run_to_eip(uint64_t eip) = 0;
  // Runs to the end of the recording and returns the final instruction
  // count. `progress(icount)` is called about once a second.
  virtual uint64_t run_to_end(const std::function<void(uint64_t)>& progress = {}) = 0;
  // True when the replay has consumed the whole recording: the engine has
  // asked for the end-of-recording shutdown. Waits up to `settle` for that
  // request to show, since it travels from the vCPU to the main loop.
  virtual bool log_exhausted(std::chrono::milliseconds settle) = 0;
  // The recording provably reaches `icount` (an index's final count, or a
  // checkpoint the first full replay passed). Some logs end without a
  // shutdown request (measured: a Linux boot ending in panic and reboot);
  // a replay past their end spins with its instruction count frozen. A
  // count frozen for seconds at or beyond `icount` is taken as that end;
  // below it, a freeze is a slow stretch (idle guest) and waits go on.
  virtual void set_reached(uint64_t icount) = 0;
  // Lets the guest run on without waiting (resume) / stops it where it is
  // and waits until it is paused (pause). Cost: a QMP round trip each.
  virtual void resume() = 0;
  virtual void pause() = 0;
  // Saves a checkpoint of the current point (replay seeks use it).
  virtual void checkpoint(const std::string& tag) = 0;
  // Loads the checkpoint `tag` ("init": the recording's start) and stays
  // paused there. Cost: one snapshot load.
  virtual void load_checkpoint(const std::string& tag) = 0;
  // The branch-trace plugin's control, when this replay loaded it.
  virtual BranchCounter* branch_counter() { return nullptr; }
  virtual X86Registers registers() = 0;
  // `len` bytes of guest virtual memory at `vaddr` as the paused vCPU sees
  // it; nullopt when unmapped. Cost: a gdbstub round trip.
  virtual std::optional<std::string> read_memory(uint64_t vaddr, size_t len) = 0;
  virtual AttachInfo attach_info() const = 0;
  // Ends the replay's process; the recording stays.
  virtual void stop() = 0;
  // Leaves the process running when this object goes away (tt_replay -p).
  virtual void detach() = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  virtual std::string version() const = 0;

  // Records the VM described by `dir`'s config into `dir`, in this process,
  // until the guest ends or `opts.stop_requested()`. Throws on failure.
  virtual RecordingInfo record(const StateDir& dir, const RecordOptions& opts) = 0;

  // Starts a replay of `dir`'s recording, paused at instruction 0, with its
  // runtime files (sockets, memory file) under `runtime_dir`.
  // `use_master_snapshots` replays on the recording's own snapshot image
  // (only the checkpoint builder, under the index lock, does that); every
  // other replay works on a copy, so replays can run side by side.
  virtual std::unique_ptr<Replay> start_replay(const StateDir& dir, const std::filesystem::path& runtime_dir,
                                               bool use_master_snapshots, const ReplayFeatures& features = {}) = 0;
};

// The engine named in a VM's config ("qemu"). Throws BadInput for an engine
// this build does not have.
std::unique_ptr<Engine> make_engine(const std::string& name);

}  // namespace xentt
