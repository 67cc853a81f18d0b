// xentt/session/guest_instants.h: the instants of a recorded VM that VMI
// looks at. Either the VM's paused background replay (tt_replay -p,
// --until), as it stands, or the points given with --at, visited in turn by
// one replay started here (runs forward, or seeks back through the index's
// checkpoints) and ended afterwards.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xentt/session/location.h"
#include "xentt/session/replay_session.h"
#include "xentt/session/state_dir.h"
#include "xentt/vm/target.h"

namespace xentt {

// Where the guest is when a visitor looks.
struct Instant {
  std::string point;  // as the user gave it ("demo_finish", "icount=5000"), or "paused" for a background replay
  std::uint64_t icount = 0;
  std::uint64_t rip = 0;
  // A paused background replay that ran on since it was paused (a
  // debugger continued it): the answers are for where it is now (`rip`),
  // not for `icount`.
  bool moved_since_paused = false;
};

using InstantVisitor = std::function<void(const Instant&, Target&)>;

// Calls `visit` once, on the paused background replay `replay_id` of `dir`
// (or its only one when empty; attach_paused_replay()).
void visit_paused_replay(const StateDir& dir, const std::string& replay_id, const InstantVisitor& visit);

// Starts a replay of `dir` (building its index first when it has none),
// calls `visit` at each of `points` (location text or icount=N, symbols
// resolved in the VM's symbol files) in the order given, then ends the
// replay. A bad point is refused before the replay starts. Ctrl-C ends the
// replay and throws Interrupted.
void visit_points(const StateDir& dir, const std::vector<std::string>& points, const SessionOptions& opts,
                  const InstantVisitor& visit);

}  // namespace xentt
