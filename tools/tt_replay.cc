// tt_replay: replay a recorded VM: to the end, to a location (and stay
// paused for debuggers), verify it against the recording, or kill replays.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "tool_main.h"
#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/interrupt.h"
#include "xentt/debug/gdb_server.h"
#include "xentt/debug/replay_debug_target.h"
#include "xentt/session/background_replay.h"
#include "xentt/session/index_builder.h"
#include "xentt/session/recording_check.h"
#include "xentt/session/replay_session.h"
#include "xentt/session/vm_symbols.h"

namespace fs = std::filesystem;
using namespace xentt;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Options {
  std::string name, dir, until, listen, pcap;
  bool console = false;
  bool paused = false, kill = false, verify = false, json = false, quiet = false, index = false;
  bool serve = false, headless = false, listen_any = false, no_watch = false;
};

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

void print_attach_block(const ReplayState& st, const Options& o) {
  if (o.json) {
    fmt::print("{}\n", st.to_json().dump());
    return;
  }
  std::string s = o.dir.empty() ? "" : " -s " + o.dir;
  fmt::print("replay of '{}' paused at icount {} (rip {:#x})\n", st.vm, st.icount, st.rip);
  for (const auto& e : st.endpoints) {
    if (e.protocol == "gdb-remote") {
      fmt::print("  gdb:     gdb -ex 'target remote {}' {}\n", e.path.string(), st.kernel.string());
    } else if (e.protocol == "gdb-remote-tcp") {
      fmt::print("  gdb:     gdb -ex 'target remote {}' {}\n", e.path.string(), st.kernel.string());
    } else if (e.protocol == "qmp") {
      fmt::print("  QMP:     {}\n", e.path.string());
    } else if (e.protocol == "guest-ram") {
      fmt::print("  memory:  {} ({} MiB of guest RAM; offset = guest-physical address below the PCI hole)\n",
                 e.path.string(), e.bytes.value_or(0) >> 20);
    }
  }
  fmt::print("  stop it: tt_replay -K {}{}\n", st.vm, s);
}

// -p / --until: a background supervisor owns the paused replay until
// tt_replay -K or until QEMU ends.
int paused_replay(const StateDir& sd, const Options& o) {
  // The index is built here, in the foreground, so its progress is seen.
  ensure_replay_index(sd, session_options(o, "building the replay index of " + sd.name()));
  end_progress(o);
  std::optional<StopPoint> until;
  if (!o.until.empty()) until = resolve_stop_point(sd, o.until);  // a bad location fails here, in the foreground
  ReplayState st = start_background_replay(sd, [&](ReplaySession& s) {
    if (until) s.run_until(*until);
  });
  print_attach_block(st, o);
  return 0;
}

// --serve: our gdb server owns the replay (several clients, exact reverse
// execution, monitor commands); --headless leaves it to a background
// supervisor, otherwise it serves here until Ctrl-C.
int serve_replay(const StateDir& sd, const Options& o) {
  if (!o.listen.empty()) debug::check_listen_spec(o.listen, o.listen_any);  // before an index build or a QEMU start
  ensure_replay_index(sd, session_options(o, "building the replay index of " + sd.name()));
  end_progress(o);
  std::optional<StopPoint> until;
  if (!o.until.empty()) until = resolve_stop_point(sd, o.until);
  auto position = [&](ReplaySession& s) {
    if (until) s.run_until(*until);
  };
  std::unique_ptr<debug::ReplayDebugTarget> target;
  std::unique_ptr<debug::GdbServer> server;
  ServeHook hook = [&](ReplaySession& s, ReplayState& st) -> std::function<void()> {
    target = std::make_unique<debug::ReplayDebugTarget>(s);
    debug::ListenOptions lo;
    lo.unix_path = s.target().runtime_dir() / "debug.sock";
    if (!o.listen.empty()) lo.tcp = o.listen;
    lo.any_address = o.listen_any;
    server = std::make_unique<debug::GdbServer>(*target, lo, [](const std::string& m) {
      fmt::print(stderr, "tt_replay: {}\n", m);
    });
    // The engine's own gdb socket takes one client, and the server holds
    // it: clients and our tools (tt_vmi) come to the server instead.
    for (auto& e : st.endpoints)
      if (e.protocol == "gdb-remote") e.path = server->unix_path();
    if (server->tcp_port()) {
      std::string host = o.listen.substr(0, o.listen.rfind(':'));
      st.endpoints.push_back({"gdb-tcp", "gdb-remote-tcp", fmt::format("{}:{}", host, *server->tcp_port()), {}});
    }
    return [&server, &target, &s] {
      server->serve([&s] { return s.target().engine_running(); });
      server.reset();
      target.reset();
    };
  };
  // Watchpoints need the plugin's memory callbacks, which cost every run
  // (bench/debug.sh); --no-watch leaves them out.
  SessionOptions so;
  so.memory_watch = !o.no_watch;
  if (o.headless) {
    print_attach_block(start_background_replay(sd, position, hook, so), o);
    return 0;
  }
  supervise_replay(
      sd, position, hook,
      [&](const ReplayState& st) {
        print_attach_block(st, o);
        if (!o.json) fmt::print("serving until Ctrl-C (or tt_replay -K {})\n", sd.name());
        std::fflush(stdout);
      },
      so);
  return 0;
}

int kill_replays(const StateDir& sd, const Options& o) {
  ReapReport r = end_background_replays(sd);
  if (o.json) {
    fmt::print("{}\n", json{{"vm", sd.name()},
                            {"killed", r.ended},
                            {"orphans_removed", r.orphans_removed},
                            {"processes_killed", r.processes_killed}}
                           .dump());
  } else {
    fmt::print("{} replay(s) of '{}' ended", r.ended, sd.name());
    if (r.orphans_removed)
      fmt::print("; {} left by killed programs removed ({} engine process(es) killed)", r.orphans_removed,
                 r.processes_killed);
    fmt::print("\n");
  }
  return 0;
}

// -c: the replay's console on stdout as the replay writes it, from a
// thread that looks at the file every 50 ms (the replay runs in this
// thread, inside QEMU's calls).
class ConsoleEcho {
 public:
  explicit ConsoleEcho(fs::path file) : tail_(std::move(file)), thread_([this](std::stop_token st) { run(st); }) {}
  // Prints the rest once the replay is done writing.
  void finish() {
    thread_.request_stop();
    thread_.join();
    copy_new();
  }

 private:
  void run(std::stop_token st) {
    while (!st.stop_requested()) {
      copy_new();
      std::this_thread::sleep_for(50ms);
    }
  }
  void copy_new() {
    if (tail_.take([](std::string_view b) { std::fwrite(b.data(), 1, b.size(), stdout); })) std::fflush(stdout);
  }
  FileTail tail_;
  std::jthread thread_;
};

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
  if (o.console) so.progress = nullptr;  // the console is the progress, and a \r line would cut into it
  if (!o.pcap.empty()) so.pcap = fs::absolute(o.pcap);
  std::optional<ConsoleEcho> echo;
  auto started = std::chrono::steady_clock::now();
  std::unique_ptr<ReplaySession> s;
  uint64_t final_icount = 0;
  std::string failure;
  bool refused = false;  // the recording was refused before it replayed: bad input, as in every mode
  try {
    // Every file, the user's disk base image's contents too, before anything
    // is believed (an index is rebuilt when it does not match).
    if (o.verify) require_complete_recording(sd, CheckDepth::Verify);
    ensure_replay_index(sd, session_options(o, "building the replay index of " + sd.name()));
    s = ReplaySession::start(sd, so);
    if (o.console) echo.emplace(s->console_path());
    final_icount = s->run_to_end();
    if (echo) echo->finish();
  } catch (const Error& e) {
    if (!o.verify) throw;
    failure = e.what();
    refused = !s && e.kind() == ErrorKind::BadInput;
  }
  echo.reset();
  end_progress(o);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string recorded = read_file(sd.file(StateDir::kConsole));
  std::string replayed = s && fs::exists(s->console_path()) ? read_file(s->console_path()) : "";
  std::optional<ReplayIndex> index;
  if (s) index = s->index();
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
  return problems.empty() ? 0 : refused ? 2 : 1;
}

int run(const Options& o) {
  stop_on_signals();  // Ctrl-C or kill: quit QEMU, remove its files, exit 1
  StateDir sd = StateDir::open_existing(o.name, o.dir.empty() ? std::nullopt : std::optional<fs::path>(o.dir));
  if ((!o.pcap.empty() || o.console) && (o.serve || o.paused || !o.until.empty() || o.kill || o.index))
    throw bad_input("--pcap and -c go with a replay to the end: a paused or served replay seeks back and forth");
  if (o.console && o.json) throw bad_input("-c prints the console on stdout, --json the result: give one");
  if (!o.pcap.empty()) {
    sd.config().require_network_for(o.pcap);  // before an index build that can take minutes
    require_new_output(fs::absolute(o.pcap), "--pcap");
  }
  if (o.kill) return kill_replays(sd, o);
  if (o.index) {
    auto idx = build_replay_index(sd, session_options(o, "building the replay index of " + sd.name()));
    end_progress(o);
    fmt::print("index of '{}': ends at icount {}, {} checkpoints, {:.2f} s\n", sd.name(), idx.final_icount,
               idx.checkpoints.size(), idx.build_seconds);
    return 0;
  }
  if (o.serve) return serve_replay(sd, o);
  if (!o.listen.empty() || o.headless || o.listen_any || o.no_watch)
    throw bad_input("--listen, --listen-any, --headless and --no-watch go with --serve");
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
        app.add_flag("--serve", o.serve,
                     "serve the paused replay to several gdb clients at once, with exact reverse execution");
        app.add_option("--listen", o.listen, "with --serve: also listen on TCP HOST:PORT (loopback only)");
        app.add_flag("--listen-any", o.listen_any, "with --listen: permit a non-loopback HOST");
        app.add_flag("--headless", o.headless, "with --serve: serve from the background and return");
        app.add_flag("--no-watch", o.no_watch,
                     "with --serve: no watchpoints (forward runs without the memory callbacks they need)");
        app.add_flag("-c,--console", o.console, "print the replayed console as the replay goes (to the end)");
        app.add_option("--pcap", o.pcap,
                       "write the guest's network traffic to FILE as pcap, as tt_record --pcap did (to the end)");
        app.add_flag("--verify", o.verify, "replay to the end and prove it matches the recording");
        app.add_flag("--index", o.index, "(re)build the replay index: final icount and checkpoints");
        app.add_flag("--json", o.json, "machine-readable output");
        app.add_flag("-q,--quiet", o.quiet, "no progress display");
      },
      [&] { return run(o); });
}
