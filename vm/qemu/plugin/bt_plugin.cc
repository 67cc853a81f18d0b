// bt_plugin.cc: xentt's branch-trace plugin for QEMU 10 (TCG plugin API 4).
//
// Per vCPU it keeps the instruction count and the branch counter (brctr:
// taken control transfers, interrupts and exceptions included, what BTS
// would log) exactly equal to QEMU's icount at every stop, and while armed
// it emits one record per taken transfer {from, to, brctr, icount, kind}.
//
// How, at a cost of a few inline ops per block on the common path:
// - translation classifies each block's last instruction (x86_branch.h) and
//   stores what the next block must be if nothing unusual happens
//   (`expect`): the fall-through, a direct target, or nothing for indirect
//   branches;
// - at each block start inline ops add the block's instructions to icount
//   and, for always-taken branches, 1 to brctr, then record the block as
//   `prev` and its expectation;
// - a conditional callback runs only when a block starts somewhere other
//   than expected (a taken jcc, an indirect branch, an interrupt or a fault)
//   or on every block while armed/watching. It decides what happened and
//   corrects the counters: in replay, interrupts and exceptions land on
//   block boundaries, and the CPU's interrupt frame on the handler's stack
//   says where the guest was (the interrupted or faulting instruction).
//   A fault in the middle of a block means the block's tail never ran: the
//   inline counts are taken back (icount does not count a faulting
//   instruction).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "plugin_state.h"
#include "trace_sink.h"

using namespace xentt::bt;
using xentt::xtl::Branch;
using xentt::xtl::BranchKind;

extern "C" {
__attribute__((visibility("default"))) int qemu_plugin_version = 4;
}

namespace xentt::bt {
Plugin g_plugin;
}  // namespace xentt::bt

namespace {

constexpr std::size_t kBatch = 1 << 16;

qemu_plugin_u64 field(std::size_t offset) { return {plugin().score, offset}; }

// Out of line: emit(), called for every taken branch, stays a few stores.
[[gnu::noinline]] void spill(unsigned v) {
  Plugin& p = plugin();
  VcpuExtra& x = p.vcpu[v];
  x.spill();
  if (x.batch.size() >= kBatch && p.sink) x.batch = p.sink->submit(std::uint16_t(v), x.take_batch());
}

// A record of a transition between two blocks that run under the current
// alias (`from`, `to` as their TbInfos hold them; take_batch() adds the
// offset).
void emit(unsigned v, std::uint64_t from, std::uint64_t to, std::uint64_t brctr, std::uint64_t icount,
          BranchKind kind) {
  Plugin& p = plugin();
  if (!p.armed.load(std::memory_order_relaxed)) return;
  VcpuExtra& x = p.vcpu[v];
  if (brctr <= x.floor) return;
  x.stage[x.staged++] = {from, to, brctr, icount, kind};
  if (x.staged == VcpuExtra::kStage) [[unlikely]] spill(v);
}

// A record with the addresses the guest ran at (`from`, `to` already real),
// for transitions between aliases: take_batch() will add the current
// offset, so it comes off here.
void emit_real(unsigned v, std::uint64_t from, std::uint64_t to, std::uint64_t brctr, std::uint64_t icount,
               BranchKind kind) {
  const std::uint64_t d = plugin().vcpu[v].delta;
  emit(v, from - d, to - d, brctr, icount, kind);
}

std::uint64_t le64(const std::uint8_t* b) {
  std::uint64_t v;
  std::memcpy(&v, b, 8);
  return v;
}

// A 64-bit register of the vCPU the callback runs on, through x.buf.
// False when the register is unknown or unreadable. Cost: one call into QEMU.
bool read_reg64(VcpuExtra& x, qemu_plugin_register* reg, std::uint64_t& value) {
  if (!reg || !x.buf) return false;
  g_byte_array_set_size(x.buf, 0);
  if (qemu_plugin_read_register(reg, x.buf) < 8 || x.buf->len < 8) return false;
  value = le64(x.buf->data);
  return true;
}

// The RIP the CPU saved when it entered the handler that starts now (64-bit
// frame: [error code,] RIP, CS, RFLAGS, RSP, SS). 0 when the stack does not
// hold a frame. Cost: one register read and one 48-byte guest read, so it
// runs only for suspected events and once per block after indirect branches.
std::uint64_t frame_rip(unsigned v) {
  VcpuExtra& x = plugin().vcpu[v];
  x.frame_error_code = false;
  std::uint64_t rsp, q[6];
  if (x.paused) {
    if (!x.paused->stack_read) return 0;
    rsp = x.paused->rsp;
    std::memcpy(q, x.paused->stack, sizeof q);
  } else {
    if (!read_reg64(x, x.rsp, rsp)) return 0;
    g_byte_array_set_size(x.buf, 0);
    if (!qemu_plugin_read_memory_vaddr(rsp, x.buf, 48) || x.buf->len < 48) return 0;
    for (int i = 0; i < 6; ++i) q[i] = le64(x.buf->data + 8 * i);
  }
  // The frame must be one the CPU built here: a selector, RFLAGS with its
  // always-one bit, and either the old stack pointer just above the frame
  // (same privilege: the CPU aligns RSP down to 16 and pushes) or user-mode
  // CS and SS (the stack came from the TSS). Stack contents after an
  // ordinary `ret` rarely pass all of this.
  for (int o = 0; o < 2; ++o) {
    std::uint64_t rip = q[o], cs = q[o + 1], rflags = q[o + 2], old_rsp = q[o + 3], ss = q[o + 4];
    if (cs == 0 || cs >= 0x10000 || !(rflags & 2) || (rflags >> 22) != 0 || rip == 0) continue;
    std::uint64_t frame_end = rsp + 40 + 8 * std::uint64_t(o);
    bool same_privilege = old_rsp >= frame_end && old_rsp - frame_end < 16;
    bool from_user = (cs & 3) == 3 && (ss & 3) == 3 && ss < 0x10000;
    if (same_privilege || from_user) {
      x.frame_error_code = o == 1;
      return rip;
    }
  }
  return 0;
}

// Index of `addr` among the block's instructions, or -1.
int insn_index(const TbInfo* t, std::uint64_t addr) {
  for (std::size_t i = 0; i < t->insns.size(); ++i)
    if (t->insns[i] == addr) return int(i);
  return -1;
}

// Where the vCPU really is (the paused pc when settling). Cost: one
// register read.
bool real_pc(unsigned v, std::uint64_t& pc) {
  VcpuExtra& x = plugin().vcpu[v];
  if (x.paused) {
    pc = x.paused->pc;
    return pc != 0;
  }
  return read_reg64(x, x.rip, pc);
}

// The alias offset of a block at `start` that the guest runs at `pc`. The
// pc register is rip, without the CS base, while blocks hold linear
// addresses: they agree only where the CS base is 0. A difference is taken
// as an alias only where one side is above 4 GiB, which only long mode
// (CS base 0) reaches; below (real mode, SMM with CS base 0x30000, 32-bit
// code) the block's linear address stands. So two aliases both below 4 GiB
// in long mode are not told apart.
std::uint64_t alias_offset(std::uint64_t pc, std::uint64_t start) {
  return (pc | start) >> 32 ? pc - start : 0;
}

// QEMU shares a translated block between the virtual addresses that map
// its code (CF_PCREL on x86-64), and a TbInfo holds the addresses of the
// block's first translation. Code that runs under two mappings (Linux's
// early identity map and its kernel text, shared libraries in two
// processes) then makes p's expectations and s's start disagree although
// the guest did just what p's last instruction said. Measured: in a Linux
// boot replayed from its start, every `jmp __x86_return_thunk` landed on a
// block first translated at the identity-mapped address (2.7M times between
// 110M and 220M instructions).
// So the real pc `pc` decides first: equal to one of p's expectations, it
// is that transition. `Match::PageOffset` also takes an expectation at
// the same offset in its page (p itself translated under another alias);
// it is the last resort for transitions no interrupt frame explains.
enum class Match { Exact, PageOffset };
bool aliased_transition(unsigned v, Counters& c, const TbInfo* p, std::uint64_t pc, Match m) {
  auto same = [pc, m](std::uint64_t e) { return m == Match::Exact ? pc == e : ((pc - e) & 0xfff) == 0; };
  const bool has_target = p->end.flow == Flow::Cond || p->end.flow == Flow::Direct;
  if (has_target && p->end.target != p->fallthrough && same(p->end.target)) {
    if (p->end.flow == Flow::Cond) ++c.brctr;  // a Direct branch was counted inline
    // p ran at the offset its target is seen at.
    const std::uint64_t d = alias_offset(pc, p->end.target);
    emit_real(v, p->last + d, p->end.target + d, c.brctr, c.icount, p->end.kind);
    return true;
  }
  if (p->end.flow != Flow::Direct && same(p->fallthrough)) return true;
  return p->end.flow == Flow::RepString && same(p->last);
}

// One line per judged event into $XENTT_BT_DEBUG: what it was taken for,
// the blocks around it, the frame's rip and the counts after it.
void debug_event(const char* what, const Counters& c, const TbInfo* p, const TbInfo* s, std::uint64_t rip) {
  if (std::FILE* f = plugin().debug)
    std::fprintf(f,
                 "%s block %" PRIx64 "..%" PRIx64 " flow %d -> %" PRIx64 " frame rip %" PRIx64 " icount %" PRIu64
                 " brctr %" PRIu64 " slow %" PRIu64 "\n",
                 what, p->start, p->last, int(p->end.flow), s->start, rip, c.icount, c.brctr, c.slow);
}

// An event (interrupt or exception) was delivered between `p` and the block
// `s` now starting; `rip` is where the guest was (from the frame), `pc`
// where it is now (0: not read). p ran at x.delta, s runs at `ds`.
void on_event(unsigned v, Counters& c, const TbInfo* p, const TbInfo* s, std::uint64_t rip, std::uint64_t pc,
              std::uint64_t ds) {
  VcpuExtra& x = plugin().vcpu[v];
  const std::uint64_t dp = x.delta;
  ++x.events;
  bool after_p = rip == p->fallthrough ||
                 ((p->end.flow == Flow::Cond || p->end.flow == Flow::Direct) && rip == p->end.target) ||
                 (p->end.flow == Flow::RepString && rip == p->last);
  int k = insn_index(p, rip);
  // A rep-string iteration that faults (a page fault: Linux's early boot
  // maps memory on demand under a rep movs) saves the rep's own address,
  // as an interrupt between iterations does; only the fault pushes an
  // error code. The faulting iteration is not retired (measured: QEMU's
  // icount skips it), so it comes off like any faulting instruction.
  if (p->end.flow == Flow::RepString && rip == p->last && x.frame_error_code) after_p = false;
  if (p->end.flow == Flow::Indirect && k >= 0 && rip != p->fallthrough) after_p = false;
  if (!after_p && p->end.flow == Flow::Indirect && k < 0) after_p = true;  // landed at the indirect target
  if (!after_p && k >= 0) {
    // A fault at instruction k: the block's tail never ran.
    ++x.faults;
    c.icount -= p->insns.size() - std::size_t(k);
    if (p->counted_inline()) --c.brctr;
    ++c.brctr;
    emit_real(v, rip, s->start + ds, c.brctr, c.icount, BranchKind::Exception);
    debug_event("fault", c, p, s, rip);
    return;
  }
  // Stack contents after a call can pass for a frame (measured: 19 times
  // in 150M instructions of a Linux boot), so a frame that explains
  // nothing does not rule out an alias.
  if (!after_p && pc && aliased_transition(v, c, p, pc, Match::PageOffset)) {
    --x.events;
    debug_event("alias-page", c, p, s, rip);
    return;
  }
  const bool unexplained = !after_p;
  const std::uint64_t frame = rip;
  std::uint64_t rip_real = rip;  // the frame's rip is where the guest really was
  if (unexplained) {
    ++x.unexplained;  // no frame we understand: count it as an interrupt after p
    rip = p->fallthrough;
    rip_real = rip + dp;
  }
  // p ran to its end and went to `rip`; then the event took the guest to s.
  if (p->end.flow == Flow::Cond && rip == p->end.target && rip != p->fallthrough) {
    ++c.brctr;
    emit_real(v, p->last + dp, rip_real, c.brctr, c.icount, p->end.kind);
  } else if (p->counted_inline()) {
    emit_real(v, p->last + dp, rip_real, c.brctr, c.icount, p->end.kind);
  }
  ++c.brctr;
  emit_real(v, rip_real, s->start + ds, c.brctr, c.icount, BranchKind::Interrupt);
  debug_event(unexplained ? "unexplained" : "interrupt", c, p, s, frame);
}

// s starts where p's end (no branch, a jcc, a direct branch, a rep) does
// not lead: the same transition under another alias, an interrupt, or a
// fault. Cost: a register read; a frame read when the guest is not where
// p leads.
void on_mismatch(unsigned v, Counters& c, const TbInfo* p, const TbInfo* s) {
  std::uint64_t pc = 0;
  if (!real_pc(v, pc)) pc = 0;
  const std::uint64_t ds = pc ? alias_offset(pc, s->start) : 0;
  if (ds) const_cast<TbInfo*>(s)->aliased = true;
  if (!(pc && aliased_transition(v, c, p, pc, Match::Exact))) on_event(v, c, p, s, frame_rip(v), pc, ds);
  plugin().vcpu[v].set_delta(ds);
}

// A block that stopped early for I/O (icount mode re-executes from the
// I/O instruction in a block of its own) resumes at one of its own
// instructions without a transfer: its unexecuted tail comes off the counts.
// A taken branch back into the block wins over this reading.
bool early_exit(Counters& c, const TbInfo* p, std::uint64_t to) {
  if (to == p->fallthrough) return false;
  if ((p->end.flow == Flow::Cond || p->end.flow == Flow::Direct) && to == p->end.target) return false;
  if (p->end.flow == Flow::RepString && to == p->last) return false;
  int k = insn_index(p, to);
  if (k <= 0) return false;
  c.icount -= p->insns.size() - std::size_t(k);
  if (p->counted_inline()) --c.brctr;
  return true;
}

void on_block(unsigned v, const TbInfo* s) {
  Plugin& pl = plugin();
  Counters& c = pl.counters(v);
  const TbInfo* p = reinterpret_cast<const TbInfo*>(c.prev);
  VcpuExtra& x = pl.vcpu[v];
  if (p && early_exit(c, p, s->start)) {
    debug_event("early-exit", c, p, s, 0);
    p = nullptr;
  }
  if (p) {
    const std::uint64_t to = s->start;
    switch (p->end.flow) {
      case Flow::None:
        if (to != p->fallthrough) on_mismatch(v, c, p, s);
        break;
      case Flow::RepString:
        if (to != p->last && to != p->fallthrough) on_mismatch(v, c, p, s);
        break;
      case Flow::Cond:
        if (to == p->end.target && to != p->fallthrough) {
          ++c.brctr;
          emit(v, p->last, to, c.brctr, c.icount, p->end.kind);
        } else if (to != p->fallthrough) {
          on_mismatch(v, c, p, s);
        }
        break;
      case Flow::Direct:
        if (to == p->end.target)
          emit(v, p->last, to, c.brctr, c.icount, p->end.kind);
        else
          on_mismatch(v, c, p, s);
        break;
      case Flow::Indirect: {
        // The target is unknown: this block is either it or an event's
        // handler. Decided by the interrupt frame, once per block.
        TbInfo* sm = const_cast<TbInfo*>(s);
        std::uint64_t rip = 0;
        if (p->end.kind != BranchKind::SoftInterrupt && sm->entry_class != 1) {
          rip = frame_rip(v);
          if (sm->entry_class == 0) sm->entry_class = rip ? 2 : 1;
        }
        // Only the pc says under which alias an indirect target runs. It
        // is read while armed where an alias is possible: a block seen
        // under another alias before, a target in the other half of the
        // address space than the branch (Linux's identity map and its
        // kernel text; returns to user space), and any target in 64-bit
        // user space, where every process maps its program and shared
        // libraries at its own addresses (ASLR) over the same page cache.
        // Measured, a Linux guest running one PIE twice: without the last
        // rule 29k of the second run's 32k libc records carried the first
        // run's addresses. Reading the pc at every indirect branch cost 1%
        // of a traced demo replay; kernel code below 4 GiB or in the upper
        // half skips it.
        std::uint64_t ds = 0, pc;
        const bool user64 = s->start >> 32 && !(s->start >> 47);
        if (pl.armed.load(std::memory_order_relaxed) &&
            (s->aliased || user64 || ((p->last + x.delta) ^ s->start) >> 47) && real_pc(v, pc)) {
          ds = alias_offset(pc, s->start);
          if (ds) sm->aliased = true;
        }
        if (rip && sm->entry_class == 2)
          on_event(v, c, p, s, rip, 0, ds);
        else
          emit_real(v, p->last + x.delta, to + ds, c.brctr, c.icount, p->end.kind);
        x.set_delta(ds);
        break;
      }
    }
  }
  if (x.watch_brctr && !x.hit.hit && c.brctr >= x.watch_brctr) x.hit = {true, c.icount, s->start + x.delta, c.brctr};
}

void cb_slow(unsigned v, void* udata) { on_block(v, static_cast<const TbInfo*>(udata)); }
void cb_mismatch(unsigned v, void* udata) {
  if (plugin().counters(v).slow) return;  // cb_slow has run for this block
  on_block(v, static_cast<const TbInfo*>(udata));
}

// A memory access of an instruction of a block translated with watch=on.
// Cost when no range is set: a call and a compare per access.
void on_mem(unsigned v, qemu_plugin_meminfo_t info, std::uint64_t vaddr, void* udata) {
  Plugin& pl = plugin();
  MemWatch& w = pl.memwatch;
  if (w.mode == MemWatch::Off || v != 0) return;  // QEMU's record/replay runs one vCPU
  const bool store = qemu_plugin_mem_is_store(info);
  const unsigned size = 1u << qemu_plugin_mem_size_shift(info);
  std::optional<std::uint64_t> phys;
  for (std::size_t i = 0; i < w.ranges.size(); ++i) {
    const MemRange& r = w.ranges[i];
    if (!(store ? r.write : r.read)) continue;
    std::uint64_t a = vaddr;
    if (r.physical) {
      if (!phys) {
        const qemu_plugin_hwaddr* h = qemu_plugin_get_hwaddr(info, vaddr);
        if (!h) continue;
        phys = qemu_plugin_hwaddr_phys_addr(h);
      }
      a = *phys;
    }
    if (a >= r.hi || a + size <= r.lo) continue;
    w.count++;
    if (w.mode == MemWatch::First && !w.hits.empty()) return;
    if (w.mode == MemWatch::Log && w.hits.size() >= MemWatch::kMaxLog) return;
    const auto* site = static_cast<const MemSite*>(udata);
    Counters& c = pl.counters(v);
    MemHit hit;
    hit.icount = c.icount - site->n + site->index;
    hit.brctr = c.brctr - (site->branch_counted ? 1 : 0);
    hit.pc = site->pc + pl.vcpu[v].delta;
    hit.addr = a;
    hit.size = size;
    hit.write = store;
    hit.range = i;
    if (w.mode == MemWatch::Log && store && !r.physical) {
      VcpuExtra& x = pl.vcpu[v];
      const std::size_t len = std::size_t(std::min<std::uint64_t>(r.hi - r.lo, 64));
      if (qemu_plugin_read_memory_vaddr(r.lo, x.buf, len) && x.buf->len >= len)
        hit.data.assign(reinterpret_cast<const char*>(x.buf->data), len);
    }
    if (w.mode != MemWatch::Log) w.hits.clear();
    w.hits.push_back(std::move(hit));
    return;
  }
}

void on_translate(qemu_plugin_id_t, qemu_plugin_tb* tb) {
  Plugin& pl = plugin();
  std::size_t n = qemu_plugin_tb_n_insns(tb);
  if (n == 0) return;
  auto info = std::make_unique<TbInfo>();
  info->start = qemu_plugin_tb_vaddr(tb);
  info->insns.reserve(n);
  for (std::size_t i = 0; i < n; ++i) info->insns.push_back(qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i)));
  qemu_plugin_insn* last = qemu_plugin_tb_get_insn(tb, n - 1);
  std::uint8_t bytes[16] = {0};
  std::size_t len = qemu_plugin_insn_data(last, bytes, sizeof bytes);
  info->last = qemu_plugin_insn_vaddr(last);
  info->fallthrough = info->last + qemu_plugin_insn_size(last);
  info->end = classify_insn(bytes, len, info->last);
  std::uint64_t expect = info->fallthrough;
  if (info->end.flow == Flow::Direct) expect = info->end.target;
  if (info->end.flow == Flow::Indirect) expect = kNoExpectation;
  if (info->end.flow == Flow::RepString) expect = info->last;

  // Order matters: the callbacks see the state before this block.
  qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, cb_slow, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_COND_EQ,
                                            field(offsetof(Counters, slow)), 1, info.get());
  qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, cb_mismatch, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_COND_NE,
                                            field(offsetof(Counters, expect)), info->start, info.get());
  qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, field(offsetof(Counters, icount)), n);
  if (info->counted_inline())
    qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, field(offsetof(Counters, brctr)), 1);
  qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_STORE_U64, field(offsetof(Counters, expect)), expect);
  qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_STORE_U64, field(offsetof(Counters, prev)),
                                                    reinterpret_cast<std::uint64_t>(info.get()));
  std::lock_guard lk(pl.tb_mutex);
  if (pl.watch_enabled) {
    for (std::size_t i = 0; i < n; ++i) {
      pl.sites.push_back({info->insns[i], std::uint32_t(i), std::uint32_t(n), info->counted_inline()});
      qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i), on_mem, QEMU_PLUGIN_CB_NO_REGS,
                                       QEMU_PLUGIN_MEM_RW, &pl.sites.back());
    }
  }
  pl.tbs.push_back(std::move(info));
}

void on_vcpu_init(qemu_plugin_id_t, unsigned v) {
  Plugin& pl = plugin();
  if (v >= pl.vcpu.size()) return;
  VcpuExtra& x = pl.vcpu[v];
  x.buf = g_byte_array_new();
  GArray* regs = qemu_plugin_get_registers();
  if (regs) {
    auto* d = reinterpret_cast<qemu_plugin_reg_descriptor*>(regs->data);
    for (unsigned i = 0; i < regs->len; ++i)
      if (std::strcmp(d[i].name, "rsp") == 0) x.rsp = d[i].handle;
      else if (std::strcmp(d[i].name, "rip") == 0) x.rip = d[i].handle;
    g_array_free(regs, 1);
  }
  for (unsigned i = 0; i < pl.counters_of.size(); ++i)
    pl.counters_of[i] = static_cast<Counters*>(qemu_plugin_scoreboard_find(pl.score, i));
  pl.counters(v) = Counters{0, 0, kNoExpectation, 0, 0};
}

void on_exit(qemu_plugin_id_t, void*) {
  Plugin& pl = plugin();
  if (std::getenv("XENTT_BT_STATS")) {
    for (unsigned v = 0; v < pl.vcpu.size() && v < unsigned(qemu_plugin_num_vcpus()); ++v) {
      Counters& c = pl.counters(v);
      char line[256];
      std::snprintf(line, sizeof line,
                    "xentt-bt: vcpu %u icount %" PRIu64 " brctr %" PRIu64 " events %" PRIu64 " faults %" PRIu64
                    " unexplained %" PRIu64 "\n",
                    v, c.icount, c.brctr, pl.vcpu[v].events, pl.vcpu[v].faults, pl.vcpu[v].unexplained);
      std::fputs(line, stderr);  // qemu_plugin_outs() prints only under -d plugin
    }
  }
  if (pl.sink) {
    for (unsigned v = 0; v < pl.vcpu.size(); ++v) pl.sink->submit(std::uint16_t(v), pl.vcpu[v].take_batch());
    pl.sink.reset();  // writes the index and trailer
  }
}

}  // namespace

namespace xentt::bt {
void settle_at_pause(unsigned v, const PausedCpu& at) {
  Plugin& pl = plugin();
  Counters& c = pl.counters(v);
  const auto* p = reinterpret_cast<const TbInfo*>(c.prev);
  // Nothing pending: the guest continues as p's end said and no record
  // waits (a jcc not taken, a fall-through, the next rep iteration). p
  // stays the judge of what comes next: that iteration may still fault.
  if (!p || !at.pc) return;
  VcpuExtra& x = pl.vcpu[v];
  // The guest is at p's expectation, so p runs at its own addresses: no
  // alias offset (an unarmed replay does not follow it through indirect
  // branches, and a trace armed here starts from this).
  if (at.pc == c.expect && p->end.flow != Flow::Direct && p->end.flow != Flow::Indirect) {
    x.set_delta(0);
    return;
  }
  TbInfo landing;  // the block at pc, as far as on_block looks at it
  landing.start = at.pc;
  x.paused = &at;
  on_block(v, &landing);
  x.paused = nullptr;
  x.pause_point = TbInfo{};
  x.pause_point.start = x.pause_point.last = x.pause_point.fallthrough = at.pc;
  c.prev = reinterpret_cast<std::uint64_t>(&x.pause_point);
  x.set_delta(0);  // the pause point holds the real pc
  c.expect = at.pc;
}
}  // namespace xentt::bt

extern "C" __attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info,
                                                                          int argc, char** argv) {
  if (!info->system_emulation || std::strcmp(info->target_name, "x86_64") != 0) {
    std::fputs("xentt-bt: only qemu-system-x86_64 is supported\n", stderr);
    return -1;
  }
  std::string ctl;
  Plugin& pl = plugin();
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "ctl=", 4) == 0) ctl = argv[i] + 4;
    if (std::strcmp(argv[i], "watch=on") == 0) pl.watch_enabled = true;
  }
  pl.score = qemu_plugin_scoreboard_new(sizeof(Counters));
  if (const char* d = std::getenv("XENTT_BT_DEBUG"); d && *d) {
    pl.debug = std::fopen(d, "a");
    if (pl.debug) std::setvbuf(pl.debug, nullptr, _IOLBF, 0);
  }
  pl.vcpu.resize(std::size_t(info->system.max_vcpus > 0 ? info->system.max_vcpus : 1));
  pl.counters_of.assign(pl.vcpu.size(), nullptr);
  for (auto& x : pl.vcpu) x.batch.reserve(kBatch);
  qemu_plugin_register_vcpu_init_cb(id, on_vcpu_init);
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_exit, nullptr);
  if (!ctl.empty() && !start_control_server(ctl)) {
    std::fprintf(stderr, "xentt-bt: %s\n", pl.error.c_str());
    return -1;
  }
  return 0;
}
