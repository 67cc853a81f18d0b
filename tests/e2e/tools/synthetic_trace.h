// synthetic_trace.h: a branch trace that looks like a guest's, for the
// trace log's tests and benchmark (no QEMU needed). A random program of
// functions made of basic blocks is executed: loops take their back edge
// for a per-visit trip count, forward branches are biased per site, calls
// descend a call DAG and return to the call's fall-through, and timer
// interrupts enter a handler that irets back. So records repeat the way
// real ones do (same from/to pairs, same icount deltas on the same paths),
// which is what the log's encoding is tuned for.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "xentt/tracefmt/trace_log.h"

namespace xentt::testing {

class SyntheticTrace {
 public:
  explicit SyntheticTrace(std::uint64_t seed, unsigned functions = 3000) : rng_(seed) {
    std::uint64_t addr = 0xffffffff81000000ull;
    funcs_.resize(functions + 1);  // the last one is the interrupt handler
    for (unsigned f = 0; f < funcs_.size(); ++f) {
      Func& fn = funcs_[f];
      fn.entry = addr;
      unsigned n = 3 + static_cast<unsigned>(rng_() % 18);
      for (unsigned s = 0; s < n; ++s) {
        Site st;
        st.insns = 1 + static_cast<std::uint32_t>(rng_() % 9);  // ~5 instructions per block
        addr += st.insns * 4 - 2 + rng_() % 4;
        st.addr = addr;
        st.len = 2 + static_cast<std::uint8_t>(rng_() % 4);
        addr += st.len;
        unsigned r = static_cast<unsigned>(rng_() % 100);
        bool last = s + 1 == n;
        if (last) {
          st.type = f == 0 ? Site::Jmp : Site::Ret;
          st.target = 0;
        } else if (r < 25 && s > 0) {
          st.type = Site::Loop;
          st.target = static_cast<std::uint32_t>(rng_() % (s + 1));
          st.trip = 1 + static_cast<std::uint32_t>(rng_() % 12);
        } else if (r < 55) {
          st.type = Site::Fwd;
          st.target = s + 1 + static_cast<std::uint32_t>(rng_() % (n - s - 1));
          st.taken_pct = rng_() % 2 ? 10 : 85;
        } else if (r < 65) {
          st.type = Site::Jmp;
          st.target = s + 1 + static_cast<std::uint32_t>(rng_() % (n - s - 1));
        } else if (f + 1 < functions) {
          st.type = r < 92 ? Site::Call : Site::ICall;
          // Calls go to later functions (a DAG), mostly nearby ones.
          std::uint32_t span = std::min<std::uint32_t>(functions - f - 1, 40);
          st.target = f + 1 + static_cast<std::uint32_t>(rng_() % span);
          st.alt = f + 1 + static_cast<std::uint32_t>(rng_() % span);
        } else {
          st.type = Site::Fwd;
          st.target = s + 1;
          st.taken_pct = 50;
        }
        fn.sites.push_back(st);
      }
      addr += 16 + rng_() % 256;
    }
    push(0, 0);
  }

  // The next taken branch. brctr counts from 1; icount is the count at
  // which the guest is about to execute `to`.
  xtl::Branch next() {
    for (;;) {
      if (--until_irq_ == 0) {
        until_irq_ = 2000 + rng_() % 40000;
        Frame& cur = stack_.back();
        std::uint64_t at = block_start(cur.func, cur.block);
        push(static_cast<std::uint32_t>(funcs_.size() - 1), at);
        return emit(at, funcs_.back().entry, xtl::BranchKind::Interrupt);
      }
      Frame& fr = stack_.back();
      const Func& fn = funcs_[fr.func];
      const Site& s = fn.sites[fr.block];
      icount_ += s.insns;
      switch (s.type) {
        case Site::Ret: {
          std::uint64_t ret = fr.ret;
          bool irq = fr.func == funcs_.size() - 1;
          stack_.pop_back();
          return emit(s.addr, ret, irq ? xtl::BranchKind::EventReturn : xtl::BranchKind::Return);
        }
        case Site::Jmp:
          fr.block = s.target;
          return emit(s.addr, block_start(fr.func, s.target), xtl::BranchKind::Jump);
        case Site::Loop: {
          std::uint16_t& left = fr.loops[fr.block];
          if (left == 0) left = static_cast<std::uint16_t>(s.trip + rng_() % 2);  // entering the loop
          if (--left > 0) {
            fr.block = s.target;
            return emit(s.addr, block_start(fr.func, s.target), xtl::BranchKind::CondJump);
          }
          fr.block++;
          break;
        }
        case Site::Fwd:
          if (rng_() % 100 < s.taken_pct) {
            fr.block = s.target;
            return emit(s.addr, block_start(fr.func, s.target), xtl::BranchKind::CondJump);
          }
          fr.block++;
          break;
        case Site::Call:
        case Site::ICall: {
          if (stack_.size() > 24) {
            fr.block++;
            break;
          }
          std::uint32_t callee = s.type == Site::ICall && rng_() % 2 ? s.alt : s.target;
          std::uint64_t ret = s.addr + s.len;
          fr.block++;
          push(callee, ret);
          return emit(s.addr, funcs_[callee].entry,
                      s.type == Site::Call ? xtl::BranchKind::Call : xtl::BranchKind::IndirectCall);
        }
      }
    }
  }

 private:
  struct Site {
    enum Type : std::uint8_t { Loop, Fwd, Jmp, Call, ICall, Ret } type = Fwd;
    std::uint8_t len = 2;
    std::uint8_t taken_pct = 50;
    std::uint32_t insns = 1;
    std::uint32_t target = 0;
    std::uint32_t alt = 0;
    std::uint32_t trip = 1;
    std::uint64_t addr = 0;
  };
  struct Func {
    std::uint64_t entry = 0;
    std::vector<Site> sites;
  };
  struct Frame {
    std::uint32_t func;
    std::uint32_t block;
    std::uint64_t ret;
    std::vector<std::uint16_t> loops;  // per site: back-edge trips left in this activation
  };

  std::uint64_t block_start(std::uint32_t f, std::uint32_t b) const {
    return b == 0 ? funcs_[f].entry : funcs_[f].sites[b - 1].addr + funcs_[f].sites[b - 1].len;
  }
  void push(std::uint32_t f, std::uint64_t ret) {
    stack_.push_back({f, 0, ret, std::vector<std::uint16_t>(funcs_[f].sites.size(), 0)});
  }
  // The branch instruction itself was counted with its block.
  xtl::Branch emit(std::uint64_t from, std::uint64_t to, xtl::BranchKind k) {
    return {from, to, ++brctr_, icount_, k};
  }

  std::mt19937_64 rng_;
  std::vector<Func> funcs_;
  std::vector<Frame> stack_;
  std::uint64_t brctr_ = 0;
  std::uint64_t icount_ = 0;
  std::uint64_t until_irq_ = 5000;
};

}  // namespace xentt::testing
