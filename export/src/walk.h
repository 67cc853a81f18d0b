// walk.h: what every export reads off a trace: each record's kind (the
// trace's, or the instruction at `from` decoded), the length of that
// instruction, and the straight-line run of instructions that led to it;
// and, for the formats that show calls (folded, perfetto), the call stacks
// rebuilt from calls, returns, interrupts and their irets.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "x86_insn.h"
#include "xentt/export/export.h"

namespace xentt::exports {

// One record as the writers see it.
struct Step {
  std::size_t index = 0;
  std::uint64_t from = 0, to = 0;
  xtl::BranchKind kind = xtl::BranchKind::Other;
  bool system = false;       // syscall/sysenter/sysret/sysexit
  std::uint8_t from_len = 0; // length of the instruction at `from`; 0: unknown
  bool executed = true;      // the instruction at `from` retired (false for interrupts and faults)
  // The run that led here, from the previous record's `to` (none for the
  // first record): [run_start, run_end), run_end past `from`'s
  // instruction when it retired, at `from` when it did not.
  bool has_run = false;
  bool run_ok = false;       // run_end known and the run decoded (or icounts given)
  std::uint64_t run_start = 0, run_end = 0;
  std::uint64_t run_insns = 0;
};

inline bool is_event(xtl::BranchKind k) {
  return k == xtl::BranchKind::Interrupt || k == xtl::BranchKind::Exception;
}

// Walks a trace's records in order. Cost per record: one instruction
// decode at `from`; a run is decoded the first time it is seen (cached by
// its start and end).
class Walker {
 public:
  Walker(const Trace& t, const CodeImage& code, Report& report);
  bool next(Step& s);
  void rewind() { i_ = 0; }
  // Whether next() counts into the report (off for a first pass).
  void counting(bool on) { count_ = on; }
  // Whether kinds come from the trace, or can be decoded at all.
  static bool can_classify(const Trace& t, const CodeImage& code);

 private:
  struct RunKey {
    std::uint64_t start, end;
    bool operator==(const RunKey&) const = default;
  };
  struct RunHash {
    std::size_t operator()(const RunKey& k) const noexcept { return std::hash<std::uint64_t>()(k.start * 31 + k.end); }
  };
  struct Run {
    std::uint64_t insns;
    bool ok;
  };
  Run decode_run(std::uint64_t start, std::uint64_t end);

  const Trace& t_;
  const CodeImage& code_;
  Report& report_;
  std::size_t i_ = 0;
  bool count_ = true;
  std::unordered_map<RunKey, Run, RunHash> runs_;
};

// Function names, each address resolved once, each name given an id.
class FunctionNames {
 public:
  explicit FunctionNames(sym::Symbolizer& s) : sym_(s) {}
  std::uint32_t id_of(std::uint64_t addr);
  const std::string& name(std::uint32_t id) const { return names_[id]; }

 private:
  sym::Symbolizer& sym_;
  sym::Resolved r_;
  std::unordered_map<std::uint64_t, std::uint32_t> by_addr_;
  std::unordered_map<std::string, std::uint32_t> by_name_;
  std::vector<std::string> names_;
};

// Call stacks rebuilt from the records: a call or software interrupt
// pushes a frame returning after it, an interrupt or exception one
// returning to `from`; a return pops to the frame whose return address is
// its target (else one frame), an iret/sysret to the nearest interrupt
// frame. The stack is the callers; the leaf is the function the current
// run is in. A return with nothing left to pop reveals a caller the trace
// started under: run() is called twice, and the second pass starts with
// the callers the first revealed already on the stack.
class CallStacks {
 public:
  struct Frame {
    std::uint64_t ret;   // return address; 0: matches nothing
    std::uint32_t node;  // the path up to and including this caller's function
    std::uint32_t func;
    bool irq;
  };
  struct Events {
    virtual ~Events() = default;
    // The run of step s (weight attributed to `node`, leaf included).
    virtual void run(const Step&, std::uint32_t /*node*/) {}
    virtual void open(std::uint32_t /*func*/, const Step* /*at: nullptr at the start*/) {}
    virtual void close(const Step* /*at: nullptr at the end*/) {}
  };

  CallStacks(FunctionNames& names) : names_(names) { nodes_.push_back({0, kRoot}); }
  static constexpr std::uint32_t kRoot = ~0u;  // the synthetic root's func id
  // At most this many frames (and as many callers found below the start):
  // a call beyond it (stacks switched under calls that never return) only
  // moves the leaf, as a jump would.
  static constexpr std::size_t kMaxDepth = 1024;

  // Walks the trace twice (finding the callers it started under, then for
  // real), calling `ev`.
  void run(Walker& w, std::size_t nrecords, Events& ev);

  // The trie of stacks: node 0 is the root; each other node a function
  // under its parent.
  struct Node {
    std::uint32_t parent;
    std::uint32_t func;
  };
  const std::vector<Node>& nodes() const { return nodes_; }

 private:
  std::uint32_t child(std::uint32_t parent, std::uint32_t func);
  void pass(Walker& w, Events* ev, bool reveal);

  FunctionNames& names_;
  std::vector<Node> nodes_;
  std::unordered_map<std::uint64_t, std::uint32_t> children_;
  std::vector<Frame> stack_;
  std::vector<Frame> revealed_;  // callers found below the start, nearest first
};

}  // namespace xentt::exports
