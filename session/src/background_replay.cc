#include "xentt/session/background_replay.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "xentt/base/error.h"
#include "xentt/base/daemon.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/json_int.h"
#include "xentt/base/interrupt.h"
#include "xentt/base/process.h"
#include "xentt/session/replay_state.h"

namespace xentt {
namespace fs = std::filesystem;

namespace {

// The engine recorded in runtime directory `dir` (engine.json), if any.
std::optional<ProcessId> engine_of(const fs::path& dir) {
  std::error_code ec;
  fs::path f = dir / StateDir::kEngineId;
  if (!fs::is_regular_file(fs::symlink_status(f, ec))) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(read_file(f), nullptr, false);
    if (!j.is_object() || !j.contains("pid") || !j.contains("start")) return std::nullopt;
    return ProcessId{json_int<int>(j["pid"], f.string()), json_int<std::uint64_t>(j["start"], f.string())};
  } catch (const Error&) {
    return std::nullopt;
  }
}

// Kills the engine still running from runtime directory `r`, if it is the
// one recorded there (never a process that reused its pid), and removes
// the directory. Returns how many processes it killed.
int reap(const StateDir::RuntimeDir& r) {
  int killed = 0;
  if (auto engine = engine_of(r.path); engine && engine->alive()) {
    ::kill(-engine->pid, SIGKILL);  // its process group: the engine and what it started
    for (int i = 0; i < 250 && engine->alive(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    killed++;
  }
  remove_tree(r.path);
  return killed;
}

}  // namespace

ReapReport reap_orphaned_runtime_dirs(const StateDir& dir) {
  ReapReport rep;
  for (const auto& r : dir.runtime_dirs()) {
    if (r.owner_pid == ::getpid() || process_alive(r.owner_pid)) continue;
    if (ReplayState::read(r.path / StateDir::kReplayState)) continue;  // a background replay: -K ends those
    try {
      rep.processes_killed += reap(r);
      rep.orphans_removed++;
    } catch (const Error&) {  // another program reaping it at the same time
    }
  }
  return rep;
}

fs::path new_runtime_dir(const StateDir& dir, const std::string& kind) {
  reap_orphaned_runtime_dirs(dir);
  return dir.new_runtime_dir(kind);
}

std::unique_ptr<ReplayTarget> start_engine_replay(Engine& engine, const StateDir& dir, const VmConfig& cfg,
                                                 const std::string& kind, const ReplayOptions& opts) {
  auto replay = engine.start_replay(dir.machine(cfg), dir.file(StateDir::kRecordingDir), new_runtime_dir(dir, kind), opts);
  ProcessId id = ProcessId::of(replay->engine_pid());
  write_file_atomic(replay->runtime_dir() / StateDir::kEngineId,
                    nlohmann::json{{"pid", id.pid}, {"start", id.start}}.dump() + "\n", 0600);
  return replay;
}

void supervise_replay(const StateDir& dir, const std::function<void(ReplaySession&)>& position,
                      const ServeHook& serve, const std::function<void(const ReplayState&)>& ready,
                      const SessionOptions& opts) {
  auto s = ReplaySession::start(dir, opts);
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
  st.engine_start = process_start_time(st.engine_pid).value_or(0);
  st.supervisor_start = process_start_time(st.supervisor_pid).value_or(0);
  std::function<void()> run;
  if (serve) run = serve(*s, st);
  st.write(t.runtime_dir() / StateDir::kReplayState);
  ready(st);
  try {
    if (run) {
      run();
    } else {
      while (t.engine_running()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        throw_if_interrupted();
      }
    }
  } catch (const Interrupted&) {
  }
  s->stop();
}

ReplayState start_background_replay(const StateDir& dir, const std::function<void(ReplaySession&)>& position,
                                    const ServeHook& serve, const SessionOptions& opts) {
  std::string out = run_in_background(dir.file(StateDir::kSupervisorLog).string(), [&](const auto& ready) {
    stop_on_signals();  // tt_replay -K's SIGTERM: stop the replay, remove its files
    supervise_replay(dir, position, serve, [&](const ReplayState& st) { ready(st.to_json().dump()); }, opts);
    return 0;
  });
  return ReplayState::from_json(nlohmann::json::parse(out, nullptr, false), "the background replay's state");
}

ReapReport end_background_replays(const StateDir& dir) {
  ReapReport rep;
  for (const auto& r : dir.runtime_dirs()) {
    if (auto state = ReplayState::read(r.path / StateDir::kReplayState)) {
      // Its supervisor stops the replay and removes its files on SIGTERM.
      const ProcessId sup{state->supervisor_pid, state->supervisor_start};
      if (sup.alive()) ::kill(sup.pid, SIGTERM);
      for (int i = 0; i < 100 && sup.alive(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (sup.alive()) ::kill(sup.pid, SIGKILL);
      rep.ended++;
    } else if (r.owner_pid == ::getpid() || process_alive(r.owner_pid)) {
      continue;  // a foreground replay or an index build: its owner cleans up
    } else {
      rep.orphans_removed++;  // its owner was killed
    }
    try {
      rep.processes_killed += reap(r);  // an engine its supervisor left, or the supervisor's own cleanup raced
    } catch (const Error&) {
    }
  }
  return rep;
}

}  // namespace xentt
