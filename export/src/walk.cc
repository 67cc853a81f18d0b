#include "walk.h"

namespace xentt::exports {

using xtl::BranchKind;

bool Walker::can_classify(const Trace& t, const CodeImage& code) {
  if (!t.kinds.empty()) return true;
  for (const auto& m : code.modules())
    if (m.has_code) return true;
  return false;
}

Walker::Walker(const Trace& t, const CodeImage& code, Report& report) : t_(t), code_(code), report_(report) {}

Walker::Run Walker::decode_run(std::uint64_t start, std::uint64_t end) {
  auto it = runs_.find({start, end});
  if (it != runs_.end()) return it->second;
  Run r{0, false};
  constexpr std::uint64_t kMaxRun = 1 << 20;  // bytes: a longer "run" is not straight-line code
  if (start <= end && end - start <= kMaxRun) {
    std::uint64_t a = start;
    while (a < end) {
      auto bytes = code_.at(a);
      if (bytes.empty()) break;
      Insn in = decode_insn(bytes.data(), bytes.size(), a);
      if (in.length == 0) break;
      a += in.length;
      ++r.insns;
    }
    r.ok = a == end;
  }
  runs_.emplace(RunKey{start, end}, r);
  return r;
}

bool Walker::next(Step& s) {
  if (i_ >= t_.records.size()) return false;
  const bts::Record& rec = t_.records[i_];
  s = Step{};
  s.index = i_;
  s.from = rec.from;
  s.to = rec.to;
  Insn in;
  if (auto bytes = code_.at(rec.from); !bytes.empty()) in = decode_insn(bytes.data(), bytes.size(), rec.from);
  s.from_len = in.length;
  s.system = in.system;
  if (!t_.kinds.empty()) {
    s.kind = t_.kinds[i_];
  } else if (in.length == 0) {
    s.kind = BranchKind::Other;  // no code here: a jump as far as stacks go
  } else if (!in.branch || (in.direct && in.target != rec.to)) {
    // Not a branch, or one that did not go where it leads: the guest was
    // taken away before `from` retired (an interrupt, or a fault of it).
    s.kind = BranchKind::Interrupt;
  } else {
    s.kind = in.kind;
  }
  s.executed = !is_event(s.kind);
  if (i_ > 0) {
    s.has_run = true;
    s.run_start = t_.records[i_ - 1].to;
    if (!s.executed) {
      s.run_end = s.from;
    } else if (s.from_len) {
      s.run_end = s.from + s.from_len;
    }
    bool end_known = !s.executed || s.from_len;
    if (!t_.icounts.empty()) {
      s.run_insns = t_.icounts[i_] - t_.icounts[i_ - 1];
      s.run_ok = end_known;
    } else if (end_known) {
      Run r = decode_run(s.run_start, s.run_end);
      s.run_insns = r.insns;
      s.run_ok = r.ok;
    }
    if (!s.run_ok && count_) {
      if (!report_.undecoded_runs) report_.first_undecoded = s.run_start;
      ++report_.undecoded_runs;
    }
  }
  ++i_;
  if (count_) ++report_.records;
  return true;
}

std::uint32_t FunctionNames::id_of(std::uint64_t addr) {
  auto it = by_addr_.find(addr);
  if (it != by_addr_.end()) return it->second;
  sym_.resolve(addr, {}, r_);
  std::string name;
  if (r_.symbol.empty()) {
    name = "[unknown]";
  } else {
    name.assign(r_.prefix);
    name.append(r_.symbol);
    for (char& c : name)
      if (c == ';' || c == ' ' || c == '\n') c = '_';  // the folded format's separators
  }
  auto [n, fresh] = by_name_.emplace(name, std::uint32_t(names_.size()));
  if (fresh) names_.push_back(name);
  by_addr_.emplace(addr, n->second);
  return n->second;
}

std::uint32_t CallStacks::child(std::uint32_t parent, std::uint32_t func) {
  std::uint64_t key = (std::uint64_t(parent) << 32) | func;
  auto [it, fresh] = children_.emplace(key, std::uint32_t(nodes_.size()));
  if (fresh) nodes_.push_back({parent, func});
  return it->second;
}

void CallStacks::run(Walker& w, std::size_t nrecords, Events& ev) {
  if (nrecords == 0) return;
  w.counting(false);
  pass(w, nullptr, true);
  w.rewind();
  w.counting(true);
  pass(w, &ev, false);
}

void CallStacks::pass(Walker& w, Events* ev, bool reveal) {
  stack_.clear();
  if (!reveal) {
    // The callers the first pass found, outermost at the bottom.
    std::uint32_t node = 0;
    for (auto it = revealed_.rbegin(); it != revealed_.rend(); ++it) {
      node = child(node, it->func);
      stack_.push_back({it->ret, node, it->func, it->irq});
      ev->open(it->func, nullptr);
    }
  }
  Step s;
  std::uint32_t leaf = 0;
  bool first = true;
  auto top = [&] { return stack_.empty() ? 0u : stack_.back().node; };
  auto close = [&](std::size_t n) {
    if (ev)
      for (std::size_t k = 0; k < n; ++k) ev->close(&s);
  };
  auto become = [&](std::uint32_t f) {  // the run goes on in another function (a tail call)
    if (f == leaf) return;
    close(1);
    leaf = f;
    if (ev) ev->open(f, &s);
  };
  // Pops to frame j: the frames above it and the leaf end, j's function is the leaf again.
  auto pop_to = [&](std::size_t j) {
    close(stack_.size() - j);
    leaf = stack_[j].func;
    stack_.resize(j);
  };
  while (w.next(s)) {
    if (first) {
      leaf = names_.id_of(s.from);
      if (ev) ev->open(leaf, nullptr);
      first = false;
    }
    if (ev && s.has_run) ev->run(s, child(top(), leaf));
    const std::uint32_t target = names_.id_of(s.to);
    switch (s.kind) {
      case BranchKind::Call:
      case BranchKind::IndirectCall:
      case BranchKind::SoftInterrupt:
      case BranchKind::Interrupt:
      case BranchKind::Exception: {
        if (stack_.size() >= kMaxDepth) {  // calls that never return (stack switches): bounded
          become(target);
          break;
        }
        bool irq = s.kind != BranchKind::Call && s.kind != BranchKind::IndirectCall;
        std::uint64_t ret = !s.executed ? s.from : s.from_len ? s.from + s.from_len : 0;
        stack_.push_back({ret, child(top(), leaf), leaf, irq});
        leaf = target;
        if (ev) ev->open(target, &s);
        break;
      }
      case BranchKind::Return:
      case BranchKind::EventReturn: {
        bool want_irq = s.kind == BranchKind::EventReturn;
        std::size_t j = stack_.size();
        while (j > 0) {
          const Frame& f = stack_[j - 1];
          if (want_irq ? f.irq : f.ret == s.to) break;
          --j;
        }
        if (j > 0) {
          pop_to(j - 1);
        } else if (!stack_.empty()) {
          pop_to(stack_.size() - 1);  // no frame returns there: a return pops one
        } else {
          // Back into a caller from before the trace began.
          if (reveal && revealed_.size() < kMaxDepth) revealed_.push_back({s.to, 0, target, want_irq});
          close(1);
          leaf = target;
          if (ev) ev->open(target, &s);
          break;
        }
        become(target);
        break;
      }
      default:
        become(target);
        break;
    }
  }
  if (ev) {
    s = Step{};
    for (std::size_t k = 0; k <= stack_.size(); ++k) ev->close(nullptr);
  }
}

}  // namespace xentt::exports
