// bt_check: checks of the branch-trace plugin through libxentt, for the
// end-to-end tests. Prints one line per mismatch and exits 1 when any.
//
//   bt_check icount STATEDIR N...        the plugin's icount equals QEMU's at each stop
//   bt_check brctr STATEDIR N...         print "N BRCTR events E faults F unexplained U" at each icount,
//       run forward from the start with the plugin counting only
//   bt_check stops STATEDIR BTS K SEED [MIN_BRCTR]   K random records of an
//       extended .bts (those with brctr >= MIN_BRCTR): run_until({to, brctr})
//       stops with rip == to and that brctr, and the registers equal those
//       reached by single-stepping the last 3 instructions in a second session
//   bt_check record STATEDIR BRCTR TO K   the stop at the record {TO, BRCTR}
//       K times, each in fresh sessions, checked as in "stops"
//   bt_check rep STATEDIR EIP K          EIP is a rep-string instruction: at
//       its first hit, step K iterations; a stop at {EIP, brctr, rcx} from
//       the start of the replay lands on the same icount and registers
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "xentt/tracefmt/bts_file.h"
#include "xentt/base/error.h"
#include "xentt/session/replay_session.h"

using namespace xentt;

// run_until({r.to, r.format}) in `a` stops with rip == to and that brctr,
// and its registers equal those `b` reaches by single-stepping the last 3
// instructions. At an icount where an instruction faults, an icount stop
// may pause before the exception's delivery or after it (QEMU 10.0.2 races
// the two; tt_replay(1)): `b` then runs on to a's rip, which must take no
// instruction. Prints what differs; returns whether the stop was exact.
static bool stop_exactly(ReplaySession& a, ReplaySession& b, const bts::Record& r) {
  Arrival got = a.run_until(Location{r.to, r.format, {}});
  Registers ra = a.registers();
  uint64_t br = a.brctr();
  if (ra.rip() != r.to || br != r.format) {
    std::printf("record brctr %lu -> %#lx: stopped at rip %#lx brctr %lu\n", r.format, r.to, ra.rip(), br);
    return false;
  }
  uint64_t back = got.icount >= 3 ? got.icount - 3 : 0;
  b.run_until(Icount{back});
  for (uint64_t n = back; n < got.icount; n++) b.step(1);
  uint64_t before = b.registers().rip();
  if (before != ra.rip()) {
    b.run_until(Location{ra.rip(), {}, {}});
    if (b.position().icount != got.icount) {
      std::printf("record brctr %lu: single-stepping to icount %lu stopped at rip %#lx, %lu instructions from %#lx\n",
                  r.format, got.icount, before, b.position().icount - got.icount, ra.rip());
      return false;
    }
  }
  if (!(b.registers() == ra)) {
    std::printf("record brctr %lu: registers differ from single-stepping to icount %lu\n", r.format, got.icount);
    return false;
  }
  return true;
}

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bt_check icount|brctr|stops|rep STATEDIR ...\n");
    return 2;
  }
  std::string mode = argv[1];
  StateDir sd = StateDir::open_path(argv[2]);
  int bad = 0;
  if (mode == "icount") {
    auto s = ReplaySession::start(sd);
    for (int i = 3; i < argc; i++) {
      uint64_t n = std::stoull(argv[i]);
      s->run_until(Icount{n});
      uint64_t q = s->position().icount;
      // position() asks QEMU; the plugin keeps its own count.
      uint64_t plugin_icount = s->branch_status().icount;
      if (q != n || plugin_icount != n) {
        std::printf("icount %lu: QEMU says %lu, plugin says %lu (rip %#lx)\n", n, q, plugin_icount,
                    s->registers().rip());
        bad++;
      }
    }
  } else if (mode == "brctr") {
    auto s = ReplaySession::start(sd);
    for (int i = 3; i < argc; i++) {
      uint64_t n = std::stoull(argv[i]);
      s->run_forward(Icount{n});
      BranchStatus st = s->branch_status();
      std::printf("%lu %lu events %lu faults %lu unexplained %lu\n", n, st.brctr, st.events, st.faults, st.unexplained);
    }
  } else if (mode == "stops" && (argc == 6 || argc == 7)) {
    bts::BtsFile in(argv[3]);
    std::span<const bts::Record> recs = in.records();  // mapped, not copied: a Linux window has 24M
    if (argc == 7) {  // records are in brctr order
      uint64_t min = std::stoull(argv[6]);
      auto first = std::partition_point(recs.begin(), recs.end(), [&](const bts::Record& r) { return r.format < min; });
      recs = recs.subspan(std::size_t(first - recs.begin()));
    }
    if (recs.empty()) throw bad_input(std::string(argv[3]) + ": no records");
    std::mt19937_64 rng(std::stoull(argv[5]));
    int k = std::stoi(argv[4]);
    auto a = ReplaySession::start(sd);
    auto b = ReplaySession::start(sd);
    for (int i = 0; i < k; i++) bad += !stop_exactly(*a, *b, recs[rng() % recs.size()]);
    std::printf("%d of %d stops exact\n", k - bad, k);
  } else if (mode == "record" && argc == 6) {
    // One record K times: a record whose stop is a race (an exception's
    // handler entry) lands exactly every time.
    bts::Record r{0, std::stoull(argv[4], nullptr, 0), std::stoull(argv[3])};
    int k = std::stoi(argv[5]);
    for (int i = 0; i < k; i++) {
      auto a = ReplaySession::start(sd);
      auto b = ReplaySession::start(sd);
      bad += !stop_exactly(*a, *b, r);
    }
    std::printf("%d of %d stops exact\n", k - bad, k);
  } else if (mode == "rep" && argc == 5) {
    uint64_t eip = std::stoull(argv[3], nullptr, 0);
    int k = std::stoi(argv[4]);
    auto s = ReplaySession::start(sd);
    s->run_until(Location{eip, {}, {}});
    uint64_t br = s->brctr();
    s->step(static_cast<uint64_t>(k));  // one iteration per instruction count
    Registers want = s->registers();
    const uint64_t want_rcx = want.at(Reg::rcx);
    uint64_t want_icount = s->position().icount;
    if (want.rip() != eip) throw bad_input("the rep instruction ends within " + std::to_string(k) + " iterations");
    s->run_until(Icount{0});
    Arrival got = s->run_until(Location{eip, br, want_rcx});
    if (got.icount != want_icount || !(s->registers() == want)) {
      std::printf("rep stop {%#lx, %lu, rcx %#lx}: icount %lu, want %lu\n", eip, br, want_rcx, got.icount,
                  want_icount);
      bad++;
    }
    std::printf("rep stop {%#lx, %lu, rcx %#lx} at icount %lu: %s\n", eip, br, want_rcx, want_icount,
                bad ? "wrong" : "exact");
  } else {
    std::fprintf(stderr, "bt_check: bad arguments\n");
    return 2;
  }
  return bad ? 1 : 0;
} catch (const Error& e) {
  std::fprintf(stderr, "bt_check: %s\n", e.what());
  return e.exit_status();
}
