// xentt/session/index_builder.h: building the replay index (replay_index.h),
// which takes one full replay of the recording.
#pragma once

#include "xentt/session/replay_index.h"
#include "xentt/session/replay_session.h"
#include "xentt/session/state_dir.h"

namespace xentt {

// Replays the whole recording once, saving a checkpoint every
// config.checkpoint_interval instructions into the recording's checkpoint
// store, and writes index.json. Cost: one full replay plus the checkpoints.
// Holds index.lock; a concurrent builder waits for it. Throws Runtime when
// the replay's console differs from the recording's.
ReplayIndex build_replay_index(const StateDir& dir, const SessionOptions& opts = {});

// The index if it exists, else builds it. When another process is building
// it, waits for that one and uses its result.
ReplayIndex ensure_replay_index(const StateDir& dir, const SessionOptions& opts = {});
// The same with the VM's engine at hand (saves making another).
ReplayIndex ensure_replay_index(const StateDir& dir, Engine& engine, const SessionOptions& opts = {});

}  // namespace xentt
