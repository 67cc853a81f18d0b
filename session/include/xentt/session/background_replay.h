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

namespace xentt {

// The runtime directory for a new replay of `dir` by this process
// (replays/KIND<pid>-<n>, not created). Removes first the runtime
// directories whose owner is gone: left by a program killed with SIGKILL
// (its QEMU died with it, base/process.h), each holding a private copy of
// the checkpoint store (10+ MB). A recycled pid only delays this.
std::filesystem::path new_runtime_dir(const StateDir& dir, const std::string& kind);

// Starts a replay of `dir` in a background supervisor (a session leader
// that owns the engine), lets `position` move it (e.g. to a location), and
// returns, once it is paused there, what ReplayState says: where to attach.
// The supervisor writes that state into the replay's runtime directory and
// waits until the engine ends or it is asked to stop (SIGTERM, SIGINT,
// SIGHUP: tt_replay -K), then stops the replay and removes its files. Its
// stderr goes to StateDir::kSupervisorLog. Throws what the supervisor threw
// before it was ready.
ReplayState start_background_replay(const StateDir& dir, const std::function<void(ReplaySession&)>& position);

// Ends every paused replay of `dir` left in the background: asks each
// supervisor to stop (SIGTERM), then kills what is left (supervisor, the
// engine's process group) and removes its runtime directory. Returns how
// many it ended. Cost: up to 5 s per supervisor that ignores us.
int end_background_replays(const StateDir& dir);

}  // namespace xentt
