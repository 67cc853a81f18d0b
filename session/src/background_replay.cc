#include "xentt/session/background_replay.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "xentt/base/error.h"
#include "xentt/base/daemon.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/interrupt.h"
#include "xentt/session/replay_state.h"

namespace xentt {
namespace fs = std::filesystem;

// A runtime directory whose owner is gone was left by a tool killed with
// SIGKILL (its QEMU died with it through PDEATHSIG, xentt/base/process.h); it
// holds a private snapshot copy of 10+ MB, so each new replay removes those
// first. A recycled pid only delays this.
static void remove_orphaned_runtime_dirs(const StateDir& dir) {
  for (const auto& r : dir.runtime_dirs()) {
    if (r.owner_pid == ::getpid() || process_alive(r.owner_pid)) continue;
    try {
      remove_tree(r.path);
    } catch (const Error&) {  // another replay reaping it at the same time
    }
  }
}

fs::path new_runtime_dir(const StateDir& dir, const std::string& kind) {
  remove_orphaned_runtime_dirs(dir);
  return dir.new_runtime_dir(kind);
}

ReplayState start_background_replay(const StateDir& dir, const std::function<void(ReplaySession&)>& position) {
  std::string out = run_in_background(dir.file(StateDir::kSupervisorLog).string(), [&](const auto& ready) {
    stop_on_signals();  // tt_replay -K's SIGTERM: stop the replay, remove its files
    auto s = ReplaySession::start(dir);
    if (position) position(*s);
    ReplayTarget& t = s->target();
    Position p = s->position();
    ReplayState st;
    st.vm = dir.name();
    st.engine = t.engine();
    st.icount = p.icount;
    st.rip = p.rip;
    st.kernel = dir.machine(dir.config()).kernel;
    st.endpoints = t.endpoints();
    st.engine_pid = t.engine_pid();
    st.supervisor_pid = ::getpid();
    st.write(t.runtime_dir() / StateDir::kReplayState);
    ready(st.to_json().dump());
    try {
      while (process_alive(t.engine_pid())) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        throw_if_interrupted();
      }
    } catch (const Interrupted&) {
    }
    s->stop();
    return 0;
  });
  return ReplayState::from_json(nlohmann::json::parse(out, nullptr, false), "the background replay's state");
}

int end_background_replays(const StateDir& dir) {
  int n = 0;
  for (const auto& r : dir.runtime_dirs()) {
    auto state = ReplayState::read(r.path / StateDir::kReplayState);
    if (!state) continue;  // an index build or a foreground replay: its owner cleans up
    int sup = state->supervisor_pid, engine = state->engine_pid;
    if (process_alive(sup)) ::kill(sup, SIGTERM);
    for (int i = 0; i < 100 && process_alive(sup); i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (process_alive(sup)) ::kill(sup, SIGKILL);
    if (process_alive(engine)) ::kill(-engine, SIGKILL);  // its process group
    remove_tree(r.path);
    n++;
  }
  return n;
}

}  // namespace xentt
