// xentt/vm/engine.h: what every engine offers, and the registry engines
// join. The session layer talks to these interfaces only and never names an
// engine: it reads the engine's name from a VM's config and asks the
// registry. An engine registers itself when its library is loaded
// (XENTT_REGISTER_ENGINE in its own source); programs that run VMs link
// every engine of the build (CMake target xentt_engines).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "xentt/vm/replay_target.h"
#include "xentt/vm/target.h"

namespace xentt {

// What to boot, the same for every engine, with the paths resolved.
struct MachineSpec {
  std::string name;
  std::filesystem::path kernel;
  std::optional<std::filesystem::path> initrd;
  std::string cmdline;
  std::uint64_t memory_mb = 64;
  unsigned vcpus = 1;
  // The VM's disk: an overlay the engine made with create_disk_overlay().
  std::optional<std::filesystem::path> disk;
  bool net = false;  // the engine's user networking, recorded
  // The engine's own settings: its section of the VM's config, as
  // normalize_options() returned it.
  nlohmann::json engine_options = nlohmann::json::object();
};

// Where a recording ends on its own, besides the guest's end. An engine
// checks them about twice a second, so a recording ends soon after a limit,
// not exactly at it; what was recorded up to then replays.
struct RecordLimits {
  std::optional<std::uint64_t> instructions;  // guest instructions
  std::optional<std::chrono::seconds> time;   // wall-clock time
  // Bytes of the engine log; 0: no limit. A runaway guest filled the disk
  // (600 MB of log in 12 minutes) before there was one.
  std::uint64_t log_bytes = 4ull << 30;
  // Stop while the file system still has this much room: a recording cut by
  // a full disk may not replay.
  std::uint64_t min_free_bytes = 256ull << 20;
};

struct RecordOptions {
  RecordLimits limits;
  // The guest's serial output goes here.
  std::filesystem::path console;
  // The recorder's runtime files (control sockets, RAM file, the engine's
  // own log) go here; the directory exists.
  std::filesystem::path runtime_dir;
  // Asked about twice a second while recording; returning true stops the
  // recording cleanly.
  std::function<bool()> stop_requested;
  // Called once the engine runs and takes commands.
  std::function<void()> started;
  bool verbose = false;  // print the engine's command line
  // Non-empty: the console also takes input through this socket (the
  // engine listens; input is part of the recording), its output still
  // going to `console` whether or not anyone is connected.
  std::filesystem::path console_input;
  // Non-empty: the guest's network traffic, both ways, as a pcap file
  // (needs MachineSpec::net). Replaying with ReplayOptions::pcap writes
  // the same file.
  std::filesystem::path pcap;
};

// How a recording ended.
struct RecordResult {
  // "guest-exit" (the guest's own exit device), "guest-poweroff",
  // "guest-reset" (a reboot or a triple fault; recordings do not reboot),
  // "guest-panic", "guest-halted" (no instruction ran for a while with no
  // timer left to wake it: hlt with interrupts off), "stopped" (asked to),
  // "max-instructions", "max-time", "max-size", "disk-full".
  std::string ended_by;
  int exit_status = 0;   // the engine's exit status (QEMU's, e.g. 33 from isa-debug-exit)
  double seconds = 0;    // wall-clock time recording took
  std::string engine_version;
  // What went wrong without costing the recording (e.g. no checksums).
  std::vector<std::string> warnings;
};

struct ReplayOptions {
  // The branch counter (exact brctr, stops at brctr locations, tracing).
  bool branch_counter = false;
  // Every instruction in a block of its own (ground truth for the branch
  // counter's block-level inference; several times slower).
  bool one_insn_per_tb = false;
  // Replay on the recording's own checkpoint store (only the index builder,
  // under the index lock, does that); every other replay works on a copy,
  // so replays can run side by side.
  bool use_master_snapshots = false;
  // Memory watchpoints (BranchCounting::watch_memory): a callback on every
  // memory access of the guest, so several times slower.
  bool memory_watch = false;
  // Non-empty: the guest's network traffic as a pcap file, as the
  // recording saw it (RecordOptions::pcap).
  std::filesystem::path pcap;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  virtual std::string version() const = 0;

  // Checks the engine's section of a VM's config (types, ranges), fills
  // its defaults and applies the engine's rules for this machine; the
  // result is what the config keeps. Throws BadInput naming the setting.
  virtual nlohmann::json normalize_options(const nlohmann::json& section, const MachineSpec& m) const = 0;

  // Makes `overlay`, a copy-on-write overlay of the user's disk image
  // `base` that the VM writes to. Throws BadInput for an unreadable image.
  virtual void create_disk_overlay(const std::filesystem::path& base, const std::filesystem::path& overlay) = 0;

  // Records `m` into `recording_dir` (the engine's own files: its log,
  // checkpoints, their checksums), in this process, until the guest ends or
  // opts.stop_requested(). Throws on failure.
  virtual RecordResult record(const MachineSpec& m, const std::filesystem::path& recording_dir,
                              const RecordOptions& opts) = 0;

  // Checks that `recording_dir` holds a whole recording whose files match
  // the checksums taken when they were written: the engine log, and the
  // files replays of `m` start from (checkpoint store, disk overlay).
  // Throws BadInput naming the file (and, for the log, the damaged bytes).
  // Cost: one read of each file (0.5 s per GB from the page cache).
  virtual void check_recording(const MachineSpec& m, const std::filesystem::path& recording_dir) const = 0;

  // Takes the checksums of the files that change after recording: a replay
  // started with use_master_snapshots (the index build) adds checkpoints to
  // the store and invalidates them; once it has ended well, this takes them
  // anew. Cost: one read of those files.
  virtual void seal_recording(const MachineSpec& m, const std::filesystem::path& recording_dir) = 0;

  // A short string that names this recording's content, cheap to compute
  // (no full read): what was derived from one recording (the replay index)
  // is not believed for another.
  virtual std::string recording_id(const std::filesystem::path& recording_dir) const = 0;

  // Starts a replay of the recording in `recording_dir`, paused at
  // instruction 0, with its runtime files under `runtime_dir`.
  virtual std::unique_ptr<ReplayTarget> start_replay(const MachineSpec& m, const std::filesystem::path& recording_dir,
                                                     const std::filesystem::path& runtime_dir,
                                                     const ReplayOptions& opts) = 0;

  // Looks into a replay another process owns (a background replay left
  // paused), through the endpoints it published (ReplayState): registers,
  // memory; never its run control. Throws BadInput when the endpoints lack
  // what the engine needs, Runtime when they do not answer.
  virtual std::unique_ptr<Target> attach(const std::vector<Endpoint>& endpoints) const = 0;

  // A VM running now outside any recording, found by the name its
  // hypervisor knows it by (engine xen: a domU by name or id), not
  // paused. Throws BadInput when the engine has no such VM, or has no live
  // VMs at all (this default); Runtime when the hypervisor cannot be asked.
  virtual std::unique_ptr<Target> open_live(const std::string& name) const;
};

// The registry. make_engine() throws BadInput naming the engines this
// build has when `name` is not one of them.
using EngineFactory = std::unique_ptr<Engine> (*)();
void register_engine(const std::string& name, EngineFactory factory);
std::unique_ptr<Engine> make_engine(const std::string& name);
std::vector<std::string> engine_names();

// In an engine's source: XENTT_REGISTER_ENGINE("qemu", make_qemu_engine);
struct EngineRegistrar {
  EngineRegistrar(const char* name, EngineFactory factory) { register_engine(name, factory); }
};
#define XENTT_REGISTER_ENGINE(name, factory) \
  static const ::xentt::EngineRegistrar xentt_engine_registrar_##factory{name, factory}

}  // namespace xentt
