// plugin_state.h: what the branch-trace plugin keeps per vCPU and per
// translated block, shared by its execution-time callbacks, its control
// thread and its trace sink.
#pragma once

#include <atomic>
#include <cstdio>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "qemu_plugin_api.h"
#include "x86_branch.h"

namespace xentt::bt {

// Per-vCPU counters in QEMU's scoreboard: inline TCG ops update them without
// a call, so the common path (a block that ends as predicted) costs a few
// host instructions.
struct Counters {
  std::uint64_t icount;  // instructions retired (exact once the next block starts)
  std::uint64_t brctr;   // taken control transfers retired
  std::uint64_t expect;  // where the next block must start to need no callback
  std::uint64_t prev;    // the TbInfo* of the block that ran last
  std::uint64_t slow;    // 1: call on every block (armed or watching)
};

// Never a block's start address: forces the callback after indirect branches.
inline constexpr std::uint64_t kNoExpectation = 1;

// What translation time learnt about one block. Lives as long as the plugin:
// `Counters::prev` may point at a block QEMU has since thrown away.
struct TbInfo {
  std::uint64_t start = 0;
  std::uint64_t last = 0;         // address of the last instruction
  std::uint64_t fallthrough = 0;  // address after the last instruction
  InsnFlow end;                   // the last instruction's flow
  std::vector<std::uint64_t> insns;  // every instruction's address (fault positions)
  // After an indirect branch, whether this block was seen as that branch's
  // target (0 unknown, 1 target, 2 event entry): the interrupt-frame check
  // runs once per block, not per visit.
  std::uint8_t entry_class = 0;
  // Seen running under another alias than its own addresses: while armed,
  // an indirect branch to it reads the pc (see alias_offset()).
  bool aliased = false;
  bool counted_inline() const { return end.flow == Flow::Direct || end.flow == Flow::Indirect; }
};

// What the client read of a paused vCPU through the gdb stub: the control
// thread judges with it what the vCPU thread would read live.
struct PausedCpu {
  std::uint64_t pc = 0, rsp = 0;
  bool stack_read = false;    // false: the 48 bytes at rsp were unreadable
  std::uint64_t stack[6] = {};
};

struct WatchHit {
  bool hit = false;
  std::uint64_t icount = 0, pc = 0, brctr = 0;
};

struct VcpuExtra {
  std::vector<xtl::Branch> batch;  // records not yet handed to the sink
  // The newest records, before they join the batch: a store into a fixed
  // array needs none of push_back's growth path, which made every emit()
  // save six registers (perf stat, a traced demo replay: 11.49G user
  // instructions with push_back, 11.07G with this). take_batch() and
  // spill() move them on.
  static constexpr std::size_t kStage = 256;
  xtl::Branch stage[kStage];
  std::size_t staged = 0;
  void spill() {
    batch.insert(batch.end(), stage, stage + staged);
    staged = 0;
  }
  std::size_t records() const { return batch.size() + staged; }
  std::uint64_t watch_brctr = 0;    // 0: not watching
  // Records up to this brctr are not emitted: the branch that landed where
  // tracing was armed belongs before the window (it is judged, and would be
  // emitted, when the next block starts).
  std::uint64_t floor = 0;
  WatchHit hit;
  std::uint64_t events = 0, faults = 0, unexplained = 0;
  bool frame_error_code = false;  // the last frame_rip() found an error code below RIP
  // The running block's real address minus its TbInfo's: nonzero while
  // code runs under another virtual alias than the one its block was first
  // translated at (see alias_offset()). Records and watch hits add it;
  // judgments never use it, so the counts do not depend on it. Records get
  // it when their batch is handed on (take_batch()), not one by one: it
  // changes rarely, and adding it per record took 1.6% more instructions
  // in a traced demo replay.
  std::uint64_t delta = 0;
  std::uint64_t batch_delta = 0;  // the offset of batch[0]
  struct AliasMark {
    std::size_t index;   // batch[index] and on, up to the next mark,
    std::uint64_t delta;  // ran at this offset
  };
  std::vector<AliasMark> marks;
  void set_delta(std::uint64_t d) {
    if (d == delta) return;
    delta = d;
    const std::size_t n = records();
    if (n == 0) {
      batch_delta = d;
      marks.clear();
    } else if (!marks.empty() && marks.back().index == n) {
      marks.back().delta = d;
    } else {
      marks.push_back({n, d});
    }
  }
  // The batch with every record at the addresses it ran at; leaves the
  // batch empty. Cost: nothing unless code ran under an alias, then one
  // pass over the records.
  std::vector<xtl::Branch> take_batch() {
    spill();
    std::size_t i = 0;
    std::uint64_t d = batch_delta;
    auto shift = [this](std::size_t from, std::size_t to, std::uint64_t by) {
      if (by)
        for (std::size_t k = from; k < to; ++k) batch[k].from += by, batch[k].to += by;
    };
    for (const auto& m : marks) {
      shift(i, m.index, d);
      i = m.index;
      d = m.delta;
    }
    shift(i, batch.size(), d);
    marks.clear();
    batch_delta = delta;
    return std::move(batch);
  }
  // Set only while the control thread settles a pause (the vCPU stopped):
  // frame and pc reads come from here instead of the live vCPU.
  const PausedCpu* paused = nullptr;
  // Where a settled pause left the vCPU: a block of no instructions that
  // falls through to the pause's pc, so the next block is judged from there.
  TbInfo pause_point;
  qemu_plugin_register* rsp = nullptr;
  qemu_plugin_register* rip = nullptr;
  GByteArray* buf = nullptr;
};

class TraceSink;

// Memory watching (plugin argument watch=on: every instruction that
// touches memory gets a callback; without it none does). Ranges are set by
// the control thread while the vCPUs are stopped.
struct MemRange {
  std::uint64_t lo = 0, hi = 0;  // [lo, hi)
  bool read = false, write = false;
  bool physical = false;         // guest-physical, else guest-virtual
};
// One access to a watched range by one instruction.
struct MemHit {
  std::uint64_t icount = 0;  // the accessing instruction's (before it retires)
  std::uint64_t pc = 0, brctr = 0, addr = 0;
  unsigned size = 0;
  bool write = false;
  std::size_t range = 0;     // which range
  std::string data;          // with log mode, a virtual range's bytes after a write (up to 64)
};
// Where an instruction sits in its block, for the icount of its accesses.
struct MemSite {
  std::uint64_t pc;
  std::uint32_t index, n;  // the instruction's index in its block, and the block's length
  bool branch_counted;     // the block's end branch is counted at its start (brctr one ahead)
};
struct MemWatch {
  enum Mode { Off, First, Last, Log } mode = Off;
  std::vector<MemRange> ranges;
  std::vector<MemHit> hits;      // First: at most one; Last: at most one; Log: every one, up to kMaxLog
  std::uint64_t count = 0;       // every hit, also those not kept
  static constexpr std::size_t kMaxLog = 100000;
};

struct Plugin {
  qemu_plugin_scoreboard* score = nullptr;
  std::mutex tb_mutex;                       // translation may run on any vCPU thread
  std::deque<std::unique_ptr<TbInfo>> tbs;
  std::vector<VcpuExtra> vcpu;               // sized at install (max vCPUs)
  std::atomic<bool> armed{false};
  std::unique_ptr<TraceSink> sink;
  std::string error;                         // the first failure, reported through status
  // $XENTT_BT_DEBUG names a file that gets one line per event the plugin
  // judges (QEMU's stderr is gone once libxentt removes a replay).
  std::FILE* debug = nullptr;
  bool watch_enabled = false;                // watch=on: memory callbacks on every instruction
  MemWatch memwatch;
  std::deque<MemSite> sites;                 // under tb_mutex; live as long as the plugin

  // The vCPU's counters. The pointers are cached because the lookup costs
  // a call and two more inside QEMU on every callback (10% of a traced
  // replay). QEMU moves the scoreboard only when it grows, at vCPU init
  // with every vCPU stopped, and on_vcpu_init then refreshes all of them.
  std::vector<Counters*> counters_of;
  Counters& counters(unsigned v) {
    Counters* c = counters_of[v];  // null only before the vCPU's init callback
    return c ? *c : *static_cast<Counters*>(qemu_plugin_scoreboard_find(score, v));
  }
};

// The one instance (a plain global: no guard on every call).
extern Plugin g_plugin;
inline Plugin& plugin() { return g_plugin; }

// vCPU `v` is paused at `at.pc`, before the block there starts: judges now
// what the plugin would judge when that block starts (the landing branch,
// an interrupt or fault delivered at the pause, an early I/O exit), so the
// counters and the records are exact at the pause. Needed because a replay
// can pause with an exception already delivered and its handler not yet
// begun (measured: QEMU 10.0.2 runs the faulting instruction of a logged
// exception outside the icount budget, racing the stop request). Settling
// twice at one pause is harmless. Called only while the vCPU is stopped.
void settle_at_pause(unsigned v, const PausedCpu& at);

// Starts the control server on `socket_path` (a thread). Returns false and
// sets plugin().error when it cannot.
bool start_control_server(const std::string& socket_path);

}  // namespace xentt::bt
