// xentt/session/paused_replay.h: finding a VM's background replay that
// waits paused (tt_replay -p, --until) and looking into it: what VMI tools
// do when given a VM's name and no point to go to.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "xentt/session/replay_state.h"
#include "xentt/session/state_dir.h"
#include "xentt/vm/target.h"

namespace xentt {

// One background replay of a VM whose supervisor still runs.
struct PausedReplay {
  std::string id;  // its runtime directory's name (replays/ID)
  ReplayState state;
};

// The live background replays of `dir`, by id. Cost: a read of each
// runtime directory's replay.json.
std::vector<PausedReplay> paused_replays(const StateDir& dir);

// Looks into the background replay `id` of `dir`, or its only one when
// `id` is empty, through its engine's attach(). Throws BadInput when there
// is none (saying how to start one), when there are several and no id
// (naming them), or for an unknown id.
struct AttachedReplay {
  PausedReplay replay;
  std::unique_ptr<Target> target;
};
AttachedReplay attach_paused_replay(const StateDir& dir, const std::string& id = "");

}  // namespace xentt
