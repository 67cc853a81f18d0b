#include "xentt/session/guest_instants.h"

#include "xentt/session/paused_replay.h"
#include "xentt/session/vm_symbols.h"

namespace xentt {

void visit_paused_replay(const StateDir& dir, const std::string& replay_id, const InstantVisitor& visit) {
  AttachedReplay a = attach_paused_replay(dir, replay_id);
  // The registers say where the replay is now (a user's debugger may have
  // stepped it since replay.json was written).
  Registers r = a.target->registers(0);
  visit(Instant{"paused", a.replay.state.icount, r.rip(), r.rip() != a.replay.state.rip}, *a.target);
}

void visit_points(const StateDir& dir, const std::vector<std::string>& points, const SessionOptions& opts,
                  const InstantVisitor& visit) {
  std::vector<StopPoint> stops;
  stops.reserve(points.size());
  for (const auto& p : points) stops.push_back(resolve_stop_point(dir, p));  // bad points fail before QEMU starts
  auto s = ReplaySession::start(dir, opts);
  try {
    for (std::size_t i = 0; i < stops.size(); ++i) {
      s->run_until(stops[i]);
      Position p = s->position();
      visit(Instant{points[i], p.icount, p.rip, false}, s->target());
    }
  } catch (...) {
    s->stop();
    throw;
  }
  s->stop();
}

}  // namespace xentt
