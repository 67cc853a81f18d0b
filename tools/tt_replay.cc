// tt_replay: replay a recorded VM: to the end, to a location (and stay
// paused for debuggers), verify it against the recording, or kill replays.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tool_main.h"
#include "xentt/base/daemon.h"
#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/interrupt.h"
#include "xentt/session/replay_session.h"
#include "xentt/session/vm_symbols.h"

namespace fs = std::filesystem;
using namespace xentt;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Options {
  std::string name, dir, until;
  bool paused = false, kill = false, verify = false, json = false, quiet = false, index = false;
};

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop = true; }

// "\rreplaying demo: icount 12,345,678 / 305,510,543 (4%)" on a terminal only.
SessionOptions session_options(const Options& o, const std::string& what) {
  SessionOptions so;
  if (!o.quiet && ::isatty(2)) {
    so.progress = [what](uint64_t ic, uint64_t total) {
      if (total) {
        fmt::print(stderr, "\r{}: icount {} / {} ({}%)   ", what, ic, total, ic * 100 / total);
      } else {
        fmt::print(stderr, "\r{}: icount {}   ", what, ic);
      }
    };
  }
  return so;
}

void end_progress(const Options& o) {
  if (!o.quiet && ::isatty(2)) fmt::print(stderr, "\r\033[K");
}

// What `--until` names, resolved against the VM's symbol files.
void run_until(ReplaySession& s, const std::string& text) {
  StopPoint sp = parse_stop_point(text);
  if (sp.icount) return s.run_until(*sp.icount);
  Location loc = *sp.location;
  if (sp.symbol) loc.eip = resolve_symbol(s.dir(), *sp.symbol);
  s.run_until(loc);
}

json attach_json(ReplaySession& s, const std::string& name) {
  AttachInfo a = s.attach_info();
  Position p = s.position();
  return {{"vm", name},
          {"icount", p.icount},
          {"rip", fmt::format("{:#x}", p.rip)},
          {"gdb_socket", a.gdb_socket.string()},
          {"qmp_socket", a.qmp_socket.string()},
          {"memory_file", a.memory_file.string()},
          {"memory_bytes", a.memory_bytes},
          {"kernel", s.dir().file(s.dir().config().kernel).string()},
          {"qemu_pid", a.pid},
          {"supervisor_pid", ::getpid()}};
}

void print_attach_block(const json& j, const Options& o) {
  if (o.json) {
    fmt::print("{}\n", j.dump());
    return;
  }
  std::string s = o.dir.empty() ? "" : " -s " + o.dir;
  fmt::print("replay of '{}' paused at icount {} (rip {})\n", j["vm"].get<std::string>(), j["icount"].get<uint64_t>(),
             j["rip"].get<std::string>());
  fmt::print("  gdb:     gdb -ex 'target remote {}' {}\n", j["gdb_socket"].get<std::string>(),
             j["kernel"].get<std::string>());
  fmt::print("  QMP:     {}\n", j["qmp_socket"].get<std::string>());
  fmt::print("  memory:  {} ({} MiB; file offset = guest physical address below 3 GiB)\n",
             j["memory_file"].get<std::string>(), j["memory_bytes"].get<uint64_t>() >> 20);
  fmt::print("  stop it: tt_replay -K {}{}\n", j["vm"].get<std::string>(), s);
}

// -p / --until: a background supervisor owns the paused replay until
// tt_replay -K or until QEMU ends.
int paused_replay(const StateDir& sd, const Options& o) {
  // The index is built here, in the foreground, so its progress is seen.
  ensure_replay_index(sd, session_options(o, "building the replay index of " + sd.name()));
  end_progress(o);
  std::string out = run_in_background(sd.file("replay-supervisor.log").string(), [&](const auto& ready) {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGHUP, &sa, nullptr);
    auto s = ReplaySession::start(sd);
    if (!o.until.empty()) run_until(*s, o.until);
    json j = attach_json(*s, sd.name());
    write_file_atomic(s->attach_info().runtime_dir / "replay.json", j.dump() + "\n");
    ready(j.dump());
    while (!g_stop && process_alive(s->attach_info().pid)) std::this_thread::sleep_for(200ms);
    s->stop();
    return 0;
  });
  print_attach_block(json::parse(out), o);
  return 0;
}

int kill_replays(const StateDir& sd, const Options& o) {
  int n = end_background_replays(sd);
  if (o.json) {
    fmt::print("{}\n", json{{"vm", sd.name()}, {"killed", n}}.dump());
  } else {
    fmt::print("{} replay(s) of '{}' ended\n", n, sd.name());
  }
  return 0;
}

// First byte at which two texts differ, with its line number.
std::pair<size_t, size_t> first_difference(const std::string& a, const std::string& b) {
  size_t i = 0, line = 1;
  while (i < a.size() && i < b.size() && a[i] == b[i]) line += a[i++] == '\n';
  return {i, line};
}

// Replays to the end and compares with the recording. --verify fails on a
// difference; a plain replay reports it.
int full_replay(const StateDir& sd, const Options& o) {
  SessionOptions so = session_options(o, "replaying " + sd.name());
  auto started = std::chrono::steady_clock::now();
  std::unique_ptr<ReplaySession> s;
  uint64_t final_icount = 0;
  std::string failure;
  try {
    ensure_replay_index(sd, session_options(o, "building the replay index of " + sd.name()));
    s = ReplaySession::start(sd, so);
    final_icount = s->run_to_end();
  } catch (const Error& e) {
    if (!o.verify) throw;
    failure = e.what();
  }
  end_progress(o);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string recorded = read_file(sd.file("console.log"));
  std::string replayed = s && fs::exists(s->console_path()) ? read_file(s->console_path()) : "";
  auto index = load_replay_index(sd);
  if (s) s->stop();

  json r = {{"vm", sd.name()}, {"final_icount", final_icount}, {"seconds", secs},
            {"console_bytes", replayed.size()}};
  std::vector<std::string> problems;
  if (!failure.empty()) problems.push_back(failure);
  // Past the recorded end QEMU lets the vCPU run on for a moment before it
  // pauses (see find_last_inside()), so a replay may print a few bytes the
  // recording never got to: the recording must be a prefix of the replay.
  // On a failure the replay's console is a prefix at best: report where it
  // first differs from (or stops short of) the recording.
  // A replay that never started (the log is damaged) has no console to compare.
  if (s && replayed.compare(0, recorded.size(), recorded) != 0) {
    auto [at, line] = first_difference(recorded, replayed);
    problems.push_back(fmt::format("console differs from the recording at byte {} (line {})", at, line));
    r["console_divergence_byte"] = at;
  }
  if (failure.empty() && index && index->final_icount != final_icount) {
    problems.push_back(
        fmt::format("replay ended at icount {}, the recording at icount {}", final_icount, index->final_icount));
  }
  r["match"] = problems.empty();
  if (index) r["recorded_final_icount"] = index->final_icount;
  if (o.json) {
    r["problems"] = problems;
    fmt::print("{}\n", r.dump());
  } else if (problems.empty()) {
    fmt::print("replayed '{}' to the end: icount {}, console identical to the recording ({} bytes), {:.2f} s\n",
               sd.name(), final_icount, replayed.size(), secs);
  } else {
    fmt::print(stderr, "tt_replay: '{}' {}: {}\n", sd.name(), s ? "diverged" : "cannot be replayed",
               fmt::join(problems, "; "));
  }
  return problems.empty() ? 0 : 1;
}

int run(const Options& o) {
  stop_on_signals();  // Ctrl-C or kill: quit QEMU, remove its files, exit 1
  StateDir sd = StateDir::open_existing(o.name, o.dir.empty() ? std::nullopt : std::optional<fs::path>(o.dir));
  if (o.kill) return kill_replays(sd, o);
  if (o.index) {
    auto idx = build_replay_index(sd, session_options(o, "building the replay index of " + sd.name()));
    end_progress(o);
    fmt::print("index of '{}': ends at icount {}, {} checkpoints, {:.2f} s\n", sd.name(), idx.final_icount,
               idx.checkpoints.size(), idx.build_seconds);
    return 0;
  }
  if (o.paused || !o.until.empty()) return paused_replay(sd, o);
  return full_replay(sd, o);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  return tool_main(
      argc, argv, "tt_replay", "Replay a recorded virtual machine deterministically.",
      [&](CLI::App& app) {
        app.add_option("NAME", o.name, "VM name")->required();
        app.add_flag("-p,--paused", o.paused, "start paused and print where gdb, QMP and VMI tools attach");
        app.add_flag("-K,--kill", o.kill, "end every replay of NAME");
        app.add_option("-s,--state-dir", o.dir, "state directory (default $XENTT_STATE/NAME)");
        app.add_option("--until", o.until, "pause at LOC: eip[:brctr[:cx]] (eip may be a symbol) or icount=N");
        app.add_flag("--verify", o.verify, "replay to the end and prove it matches the recording");
        app.add_flag("--index", o.index, "(re)build the replay index: final icount and checkpoints");
        app.add_flag("--json", o.json, "machine-readable output");
        app.add_flag("-q,--quiet", o.quiet, "no progress display");
      },
      [&] { return run(o); });
}
