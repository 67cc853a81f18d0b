#include "xentt/session/paused_replay.h"

#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/base/process.h"
#include "xentt/vm/engine.h"

namespace xentt {

std::vector<PausedReplay> paused_replays(const StateDir& dir) {
  std::vector<PausedReplay> out;
  for (const auto& r : dir.runtime_dirs()) {
    auto st = ReplayState::read(r.path / StateDir::kReplayState);
    if (!st) continue;
    if (!ProcessId{st->supervisor_pid, st->supervisor_start}.alive()) continue;  // killed: tt_replay -K reaps it
    out.push_back({r.path.filename().string(), std::move(*st)});
  }
  return out;
}

AttachedReplay attach_paused_replay(const StateDir& dir, const std::string& id) {
  auto all = paused_replays(dir);
  std::string ids;
  for (const auto& p : all) ids += fmt::format("{}{} (icount {})", ids.empty() ? "" : ", ", p.id, p.state.icount);
  const PausedReplay* pick = nullptr;
  if (!id.empty()) {
    for (const auto& p : all)
      if (p.id == id) pick = &p;
    if (!pick)
      throw bad_input(fmt::format("VM {} has no paused replay '{}' ({})", dir.name(), id,
                                  all.empty() ? "it has none" : "it has " + ids));
  } else if (all.empty()) {
    throw bad_input(fmt::format("VM {} has no paused replay: start one with 'tt_replay -p {}' or 'tt_replay --until LOC {}', "
                                "or give --at LOC",
                                dir.name(), dir.name(), dir.name()));
  } else if (all.size() > 1) {
    throw bad_input(fmt::format("VM {} has {} paused replays: {}; name one with --replay ID", dir.name(), all.size(), ids));
  } else {
    pick = &all.front();
  }
  auto engine = make_engine(pick->state.engine);
  AttachedReplay a{*pick, engine->attach(pick->state.endpoints)};
  return a;
}

}  // namespace xentt
