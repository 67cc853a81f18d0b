// bench/trace_bench: the cost of branch tracing in replay, as ratios to the
// untraced replay of the same recording and window, measured in one process
// on one machine. Three ways to replay the window [START, END) in icount:
//   plain    QEMU's replay alone, no plugin (what people run today);
//   counting our plugin loaded, only keeping icount and brctr (every session);
//   traced   the plugin armed: every taken branch recorded, batched,
//            compressed and written to a trace log by its writer thread.
// Each is timed from a paused replay at START to the pause at END (the
// replay-break; QEMU start and the seek to START are not counted), REPEATS
// times in rotation; the best and the median are printed. Every mode runs
// every instruction of the window (ReplaySession::run_forward): until
// 2026-11-22 plain and counting loaded the checkpoint nearest END instead,
// so they timed a fraction of the window and traced/plain read 3x-22x.
//
//   trace_bench STATEDIR LOG [REPEATS [START [END [MODES]]]]
//
// MODES picks the ways to time, any of the letters p, c, t (default pct).
//
// Prints one "name value" line per figure for bench/trace.sh to format.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "xentt/base/error.h"
#include "xentt/tracefmt/trace_log.h"
#include "xentt/session/index_builder.h"
#include "xentt/session/replay_session.h"

using namespace xentt;
namespace fs = std::filesystem;

namespace {

enum class Mode { Plain, Counting, Traced };

struct Run {
  double seconds = 0;
  uint64_t records = 0;
};

Run replay_window(const StateDir& sd, Mode mode, uint64_t start, uint64_t end, const fs::path& log) {
  SessionOptions so;
  so.ensure_index = false;
  so.branch_counter = mode != Mode::Plain;
  auto s = ReplaySession::start(sd, so);
  s->run_until(Icount{start});
  if (mode == Mode::Traced) s->arm(log, R"({"vm":"bench"})");
  auto t0 = std::chrono::steady_clock::now();
  s->run_forward(Icount{end});  // every instruction executed: no checkpoint loads
  Run r;
  if (mode == Mode::Traced) {
    r.records = s->disarm();
    s->close_log();  // waits for the writer thread: the log is on disk
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s->stop();
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: trace_bench STATEDIR LOG [REPEATS [START [END [MODES]]]]\n");
    return 2;
  }
  StateDir sd = StateDir::open_path(argv[1]);
  fs::path log = fs::absolute(argv[2]);
  int repeats = argc > 3 ? std::stoi(argv[3]) : 3;
  auto index = ensure_replay_index(sd);
  uint64_t start = argc > 4 ? std::stoull(argv[4]) : 0;
  uint64_t end = argc > 5 ? std::stoull(argv[5]) : index.final_icount;
  if (start >= end || end > index.final_icount) throw bad_input("bad window");
  std::string modes = argc > 6 ? argv[6] : "pct";
  if (modes.empty() || modes.find_first_not_of("pct") != std::string::npos)
    throw bad_input("MODES: letters of p (plain), c (counting), t (traced)");

  std::vector<double> plain, counting, traced;
  uint64_t records = 0;
  for (int i = 0; i < repeats; i++) {
    if (modes.find('p') != std::string::npos) plain.push_back(replay_window(sd, Mode::Plain, start, end, log).seconds);
    if (modes.find('c') != std::string::npos)
      counting.push_back(replay_window(sd, Mode::Counting, start, end, log).seconds);
    if (modes.find('t') == std::string::npos) continue;
    fs::remove(log);
    Run t = replay_window(sd, Mode::Traced, start, end, log);
    traced.push_back(t.seconds);
    records = t.records;
  }
  std::printf("window_icount %lu %lu\n", start, end);
  auto figure = [](const char* name, const std::vector<double>& v) {
    if (v.empty()) return;
    std::printf("%s_best %.4f\n%s_median %.4f\n", name, *std::min_element(v.begin(), v.end()), name, median(v));
  };
  figure("plain", plain);
  figure("counting", counting);
  figure("traced", traced);
  if (traced.empty()) return 0;
  uint64_t bytes = fs::file_size(log);
  xtl::LogReader reader(log.string());
  uint64_t read_back = reader.for_each_branch(0, 0, ~0ull, [](const xtl::Branch&) {});
  if (read_back != records) throw runtime_error("the log holds " + std::to_string(read_back) + " records, " +
                                                std::to_string(records) + " were written");
  std::printf("records %lu\n", records);
  std::printf("log_bytes %lu\n", bytes);
  return 0;
} catch (const Error& e) {
  std::fprintf(stderr, "trace_bench: %s\n", e.what());
  return e.exit_status();
}
