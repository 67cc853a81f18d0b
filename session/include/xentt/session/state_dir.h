// xentt/session/state_dir.h: one directory per recorded VM (DESIGN.md,
// "What lives on disk"). Every name below is a StateDir::k* constant; no
// other file spells them.
//
//   xentt-state.json the marker: this directory is xentt's (magic, format
//                    version, whether xentt created the directory itself).
//                    Only directories that carry it are ever modified or
//                    deleted, and only the entries listed here inside them.
//   config.json      VmConfig (vm_config.h)
//   kernel, initrd   copies of what was booted, so a rebuilt kernel cannot
//                    silently break replays
//   disk.qcow2       copy-on-write overlay of the base disk (-L)
//   symfiles         symbol maps, one FILE[@lo-hi][:prefix] per line
//                    (xentt/symbolize/symbolizer.h reads such lists)
//   sums.json        checksums of config.json, kernel, initrd, symfiles and
//                    the disk base image (xentt/base/file_digest.h), taken
//                    when the recording ends, checked before every replay
//   recording/       the engine's recording: its log, checkpoint store and
//                    their checksums, named by the engine
//   console.log      the guest's serial output during recording
//   INCOMPLETE       present from the start of a recording until it ends
//                    cleanly; holds the recorder's pid
//   recording.json   how the recording ended (written when it ends)
//   record.lock      flock()ed by the recorder: one recorder per VM
//   recorder/        the recorder's runtime files (the engine's sockets,
//                    RAM file and log), mode 0700
//   index.json       the replay index: final instruction count, checkpoints
//   index.lock       flock()ed by the index builder
//   replays/ID/      one running replay: sockets, memory file, its own
//                    console, engine.json (the engine's pid and start time),
//                    replay.json (replay_state.h) when in the background
//   recorder.log, replay-supervisor.log   what background supervisors said
//   record-qmp.sock, record.mem, record-qemu.log   what recorders before
//                    recorder/ existed left at the top (removed with the rest)
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "xentt/session/vm_config.h"
#include "xentt/vm/engine.h"

namespace xentt {

enum class RecordingState {
  Recording,   // a recorder holds the lock
  Incomplete,  // marked incomplete and nobody records: terminated abnormally
  Complete,
};

const char* to_string(RecordingState s);

// How a recording ended (recording.json).
struct RecordingInfo {
  std::string ended_by;  // "guest-exit", "guest-poweroff", "stopped" (tt_record -S)
  int exit_status = 0;   // the engine's exit status (QEMU's, e.g. 33 from isa-debug-exit)
  double seconds = 0;    // wall-clock time recording took
  std::string engine_version;
};

// Whose a directory is, as far as deleting it goes.
enum class Ownership {
  Missing,  // nothing at the path
  Ours,     // a directory carrying our marker
  Legacy,   // a directory without the marker but with a config.json this
            // reader parses: recorded before markers existed; treated as ours
  NotOurs,  // anything else: a user's directory, a file, a symbolic link
};

class StateDir {
 public:
  // The marker's file name, and its format version.
  static constexpr const char* kMarker = "xentt-state.json";
  static constexpr int kMarkerFormat = 1;
  // The layout above.
  static constexpr const char* kConfig = "config.json";
  static constexpr const char* kSymfiles = "symfiles";
  static constexpr const char* kKernel = "kernel";
  static constexpr const char* kInitrd = "initrd";
  static constexpr const char* kDiskOverlay = "disk.qcow2";
  static constexpr const char* kRecordingDir = "recording";
  static constexpr const char* kConsole = "console.log";
  static constexpr const char* kIncomplete = "INCOMPLETE";
  static constexpr const char* kRecordingInfo = "recording.json";
  static constexpr const char* kRecordLock = "record.lock";
  static constexpr const char* kRecorderDir = "recorder";
  static constexpr const char* kIndex = "index.json";
  static constexpr const char* kIndexLock = "index.lock";
  static constexpr const char* kReplaysDir = "replays";
  static constexpr const char* kRecorderLog = "recorder.log";
  static constexpr const char* kSupervisorLog = "replay-supervisor.log";
  static constexpr const char* kSums = "sums.json";
  static constexpr const char* kReplayState = "replay.json";  // inside a replay's runtime directory
  static constexpr const char* kEngineId = "engine.json";     // likewise: the engine's pid and start time

  // $XENTT_STATE when set; else /var/lib/xentt for root, else
  // $XDG_STATE_HOME/xentt or ~/.local/state/xentt.
  static std::filesystem::path default_root();

  // The state directory of VM `name`: `dir` when given (-s), else
  // default_root()/name. Validates the name. Does not touch the disk.
  static StateDir locate(const std::string& name, const std::optional<std::filesystem::path>& dir);

  // Like locate(), for an existing state directory: throws BadInput "no
  // recorded VM ..." naming the path when it has no config.json.
  static StateDir open_existing(const std::string& name, const std::optional<std::filesystem::path>& dir);

  // An existing state directory named by its path alone (trace_task
  // STATEDIR, test and bench tools): the VM's name is its last component,
  // so "dir/" and "dir/." name the same VM as "dir".
  static StateDir open_path(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::string& name() const { return name_; }
  std::filesystem::path file(const std::string& rel) const { return path_ / rel; }

  bool exists() const;
  // Looks at the path without following a symbolic link there. Cost: a
  // stat and, without a marker, a read of config.json.
  Ownership ownership() const;
  // Throws BadInput when the path is not a state directory of ours (a
  // user's directory, a file, a symbolic link): "PATH is not a xentt state
  // directory ...; nothing was changed". `doing` says what was refused.
  void require_ours(const std::string& doing) const;
  // Makes the directory a new state directory: creates it (mode 0700) and
  // writes the marker first, its parents as needed. An existing empty
  // directory is taken as it is (the marker notes that xentt did not create
  // it, so destroy() leaves the empty directory). Throws BadInput when the
  // path exists otherwise or leads through a file, Runtime when the file
  // system refuses (read-only, no room).
  void create() const;

  VmConfig config() const;  // throws BadInput on a damaged config
  void write_config(const VmConfig& c) const;
  // The machine to boot, engine-neutral, with the files of `c` resolved in
  // this directory.
  MachineSpec machine(const VmConfig& c) const;

  RecordingState recording_state() const;
  std::optional<RecordingInfo> recording_info() const;
  void write_recording_info(const RecordingInfo& info) const;
  // The runtime directories of replays (replays/KIND<pid>-<n>, KIND empty
  // or "index-"), each with the pid of the process that made it. Only real
  // directories named that way are listed, and none when replays/ is not a
  // directory (a symbolic link there is never followed).
  struct RuntimeDir {
    std::filesystem::path path;
    int owner_pid = 0;
  };
  std::vector<RuntimeDir> runtime_dirs() const;
  // The name of a new runtime directory for this process (not created).
  std::filesystem::path new_runtime_dir(const std::string& kind) const;

  // Takes the checksums of the files of ours a replay depends on (kSums):
  // config, kernel, initrd, symbol-file list, and the user's disk base
  // image. Cost: one read of each.
  void seal() const;
  // Checks them; throws BadInput naming the first damaged or missing file.
  // The disk base image (the user's, possibly large) is checked by its size
  // unless `full`. A state without kSums (recorded before it existed) is
  // not checked. Cost: one read of each file checked.
  void check_sums(bool full) const;

  // The pid written into INCOMPLETE by the recorder, if any.
  std::optional<int> recorder_pid() const;
  // INCOMPLETE, holding the recorder's pid (0 before the recorder runs):
  // from the first moment of a recording until it ends cleanly, so a crash
  // reads as "terminated abnormally", never as a finished recording.
  void mark_incomplete(int recorder_pid) const;
  // The one place a recording becomes complete.
  void mark_complete() const;

  // Removes the state directory: only when it is ours (require_ours), only
  // when it holds nothing but entries xentt creates (a file of the user's
  // inside is named and nothing is deleted), never following a symbolic
  // link out. Rename first, then delete, so that an interrupted destroy
  // leaves either the full state or a `.NAME.deleting.*` directory (still
  // marked) that the next destroy removes, never a half-deleted state. A
  // directory xentt did not create itself is emptied and left.
  void destroy() const;

 private:
  StateDir(std::filesystem::path p, std::string name) : path_(std::move(p)), name_(std::move(name)) {}
  std::filesystem::path path_;
  std::string name_;
};

// An exclusive flock() on a file, released on destruction or process death.
// The recorder holds one on record.lock; a checkpoint builder on index.lock.
class FileLock {
 public:
  // Throws Runtime with `busy_message` when another process holds the lock.
  FileLock(const std::filesystem::path& path, const std::string& busy_message);
  // Blocks until the lock is free (its holder finishes or dies).
  struct Wait {};
  FileLock(const std::filesystem::path& path, Wait);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  // True when some process holds the lock at `path` (probe without taking it).
  static bool held(const std::filesystem::path& path);

 private:
  int fd_ = -1;
};

}  // namespace xentt
