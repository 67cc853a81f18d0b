// xentt/session/record_session.h: the life of a recording: its state
// directory made from what the user gave, the recorder running in the
// background until the guest ends or is stopped, the follow of its console,
// its destruction.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xentt/session/state_dir.h"

namespace xentt {

// What to record, as the user gave it.
struct RecordSpec {
  std::string engine = "qemu";
  std::filesystem::path kernel;
  std::optional<std::filesystem::path> initrd;
  std::optional<std::filesystem::path> disk;  // the user's base image; the VM writes to an overlay
  std::string cmdline;
  uint64_t memory_mb = 64;
  bool net = false;
  std::vector<std::string> symfiles;  // FILE[@lo-hi][:prefix]; none: the kernel's own DWARF
  uint64_t checkpoint_interval = 50'000'000;
  // The engine's own settings, as the engine's options on the command line
  // gave them; the engine normalizes them (Engine::normalize_options).
  nlohmann::json engine_options = nlohmann::json::object();
};

// Choices of one recording run that are not the VM's config.
struct RecordRun {
  // The console takes input: the engine listens on console_socket() and
  // records what is typed there (tt_record -c at a terminal).
  bool console_input = false;
  // The guest's network traffic, both ways, as a pcap file written by the
  // engine (the VM needs networking).
  std::filesystem::path pcap;
};

class RecordSession {
 public:
  explicit RecordSession(StateDir dir) : dir_(std::move(dir)) {}
  const StateDir& dir() const { return dir_; }

  // Makes the state directory for a recording of `spec`. Every input is
  // checked first (files exist, the engine is there and takes the
  // settings), so bad input leaves nothing behind. An existing recording of
  // ours is replaced only with `replace` (its replays are ended first);
  // anything else at the path is refused (StateDir::require_ours). Throws
  // BadInput for all of those.
  void create(const RecordSpec& spec, bool replace);

  // Records in a background supervisor (the recorder) until the guest ends
  // or stop(); returns the recorder's pid once the engine runs. When the
  // start fails before anything was recorded, removes the state directory
  // and throws the reason. The recorder's stderr goes to
  // StateDir::kRecorderLog.
  int start(bool verbose, const RecordLimits& limits = {}, const RecordRun& run = {});
  // Where a recording with RecordRun::console_input takes the console's
  // input (a socket in the recorder's private runtime directory, there while
  // the engine runs).
  std::filesystem::path console_socket() const;

  // Asks the recorder to stop cleanly (as tt_record -S) without waiting.
  // Throws BadInput when nothing records, Runtime when the recorder cannot
  // be found.
  void request_stop();
  // request_stop(), then waits up to `timeout` for the recorder to end.
  // Returns the state it left.
  RecordingState stop(std::chrono::seconds timeout);

  // Kills a running recorder, ends the VM's background replays, destroys
  // the state directory (StateDir::destroy's rules). Returns how many
  // replays it ended.
  int destroy();

  // Passes the guest's console to `out` as the recorder writes it, until
  // the recording ends (returns true; throws Runtime when it terminated
  // abnormally) or `detach()` says so (returns false: it goes on). Between
  // looks it calls `wait` (default: sleep 100 ms), which an interactive
  // caller spends waiting for the terminal and the console instead.
  bool follow(const std::function<void(std::string_view)>& out, const std::function<bool()>& detach,
              const std::function<void()>& wait = {});

 private:
  // The recorder's body, in the background process.
  int record(bool verbose, const RecordLimits& limits, const RecordRun& run,
             const std::function<void(const std::string&)>& ready);
  bool wait_recorder_gone(std::chrono::seconds timeout) const;
  StateDir dir_;
};

}  // namespace xentt
