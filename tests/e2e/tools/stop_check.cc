// stop_check STATEDIR NAME COUNT SEED: stops at COUNT random instruction
// counts through the library, in two sessions of the same process: one
// reaching them in ascending order (forward runs), one in descending order
// (each a backward seek to the nearest checkpoint, then forward). Every stop
// must land exactly on its count, with the same registers in both sessions.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "xentt/base/error.h"
#include "xentt/session/replay_session.h"

using namespace xentt;

int main(int argc, char** argv) {
  if (argc != 5) {
    fmt::print(stderr, "usage: stop_check STATEDIR NAME COUNT SEED\n");
    return 2;
  }
  try {
    StateDir dir = StateDir::open_existing(argv[2], std::filesystem::path(argv[1]));
    int count = std::atoi(argv[3]);
    std::mt19937_64 rng(std::strtoull(argv[4], nullptr, 10));

    auto forward = ReplaySession::start(dir);
    auto backward = ReplaySession::start(dir);  // a second session, alive at the same time
    uint64_t end = forward->index()->final_icount;
    std::vector<uint64_t> targets;
    std::uniform_int_distribution<uint64_t> pick(1, end - 1);
    for (int i = 0; i < count; i++) targets.push_back(pick(rng));
    std::sort(targets.begin(), targets.end());

    std::map<uint64_t, Registers> seen;
    for (uint64_t t : targets) {
      forward->run_until(Icount{t});
      Position p = forward->position();
      if (p.icount != t) {
        fmt::print("FAIL: forward stop at {} landed at {}\n", t, p.icount);
        return 1;
      }
      seen[t] = forward->registers();
    }
    // pause/resume: let it run freely, stop it wherever it got to.
    backward->resume();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    backward->pause();
    Position free_stop = backward->position();
    fmt::print("resumed and paused at icount {}\n", free_stop.icount);
    if (free_stop.icount == 0) {
      fmt::print("FAIL: resume did not run the guest\n");
      return 1;
    }
    backward->run_until(Icount{end});
    int failures = 0;
    for (auto it = targets.rbegin(); it != targets.rend(); ++it) {
      backward->run_until(Icount{*it});
      Position p = backward->position();
      Registers r = backward->registers();
      bool same = p.icount == *it && r == seen[*it];
      fmt::print("{} icount {} rip {:#x} (forward rip {:#x})\n", same ? "ok:" : "FAIL:", p.icount, r.rip(),
                 seen[*it].rip());
      failures += !same;
    }
    forward->stop();
    backward->stop();
    fmt::print("{} stops, {} forward and backward, {} mismatches\n", targets.size(), targets.size(), failures);
    return failures ? 1 : 0;
  } catch (const Error& e) {
    fmt::print(stderr, "stop_check: {}\n", e.what());
    return e.exit_status();
  }
}
