// xentt/session/background_replay.h: replays that outlive the program that
// started them (tt_replay -p, --until), their runtime directories, and
// ending them (tt_replay -K).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "xentt/session/replay_session.h"
#include "xentt/session/replay_state.h"
#include "xentt/session/state_dir.h"
#include "xentt/vm/engine.h"

namespace xentt {

// What cleaning up replays did.
struct ReapReport {
  int ended = 0;            // background replays ended (their supervisors asked to stop)
  int orphans_removed = 0;  // runtime directories of programs that were killed
  int processes_killed = 0; // engines still running from those
};

// Removes the runtime directories whose owner is gone (a program killed
// with SIGKILL) and kills the engines still running from them (engine.json
// says which): each holds a private copy of the checkpoint store (10+ MB).
// Background replays are left to end_background_replays().
ReapReport reap_orphaned_runtime_dirs(const StateDir& dir);

// The runtime directory for a new replay of `dir` by this process
// (replays/KIND<pid>-<n>, not created). Reaps orphaned runtime
// directories first (reap_orphaned_runtime_dirs).
std::filesystem::path new_runtime_dir(const StateDir& dir, const std::string& kind);

// Starts a replay of the recording in `dir` with `engine`, its runtime
// directory a new one of `kind` (new_runtime_dir), and notes there which
// process the engine is (engine.json), so that a reaper can end it if this
// program is killed. Every replay starts here.
std::unique_ptr<ReplayTarget> start_engine_replay(Engine& engine, const StateDir& dir, const VmConfig& cfg,
                                                 const std::string& kind, const ReplayOptions& opts);

// Starts a replay of `dir` in a background supervisor (a session leader
// that owns the engine), lets `position` move it (e.g. to a location), and
// returns, once it is paused there, what ReplayState says: where to attach.
// The supervisor writes that state into the replay's runtime directory and
// waits until the engine ends or it is asked to stop (SIGTERM, SIGINT,
// SIGHUP: tt_replay -K), then stops the replay and removes its files. Its
// stderr goes to StateDir::kSupervisorLog. Throws what the supervisor threw
// before it was ready.
//
// `serve`, when given, is called in the supervisor once the replay is in
// position, before it says it is ready: it may change the state it will
// publish (a debug server replaces the engine's gdb endpoint with its own)
// and returns what the supervisor runs instead of waiting; that returns
// when the engine ended or a signal of stop_on_signals() arrived.
using ServeHook = std::function<std::function<void()>(ReplaySession&, ReplayState&)>;
ReplayState start_background_replay(const StateDir& dir, const std::function<void(ReplaySession&)>& position,
                                    const ServeHook& serve = {}, const SessionOptions& opts = {});

// What start_background_replay()'s supervisor does, in this process (a
// foreground server): starts the replay, positions it, publishes its state
// in the runtime directory, calls `ready` with it, serves or waits as
// above, then stops the replay and removes its files.
void supervise_replay(const StateDir& dir, const std::function<void(ReplaySession&)>& position,
                      const ServeHook& serve, const std::function<void(const ReplayState&)>& ready,
                      const SessionOptions& opts = {});

// Ends every replay of `dir` that no running program of ours owns: asks
// each background supervisor to stop (SIGTERM; SIGKILL after 5 s), and
// removes the runtime directories of killed programs; kills every engine
// still running from any of those directories (a supervisor killed with
// SIGKILL may leave its engine). Replays of running foreground programs are
// left to them. Pids are signalled only while they name the recorded
// process (start times). Cost: up to 5 s per supervisor that ignores us.
ReapReport end_background_replays(const StateDir& dir);

}  // namespace xentt
