// interval_index.h (internal): address -> value for possibly nested ranges.
//
// Symbols nest (a local label inside a function), compile units and inline
// scopes nest. build() flattens the ranges once into sorted, disjoint
// segments where the innermost range wins (latest start, then shortest,
// then highest priority), so a lookup is one binary search over a plain
// array of starts (structure of arrays: the search touches only starts).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace bts::detail {

class IntervalIndex {
 public:
  static constexpr std::uint32_t kNone = ~0u;

  // [lo, hi), hi exclusive; empty ranges are ignored.
  void add(std::uint64_t lo, std::uint64_t hi, std::uint32_t value, std::uint32_t priority = 0) {
    if (lo < hi) in_.push_back({lo, hi, value, priority});
  }

  // Flattens the added ranges. O(n log n); frees the input list.
  void build() {
    std::sort(in_.begin(), in_.end(), [](const In& a, const In& b) {
      if (a.lo != b.lo) return a.lo < b.lo;
      if (a.hi != b.hi) return a.hi > b.hi;  // outer first, inner pushed later
      return a.prio < b.prio;                // higher priority pushed later
    });
    starts_.clear();
    values_.clear();
    std::vector<const In*> open;
    auto emit = [&](std::uint64_t pos, std::uint32_t v) {
      if (!starts_.empty() && starts_.back() == pos) {
        values_.back() = v;
        return;
      }
      if (!values_.empty() && values_.back() == v) return;  // same owner continues
      if (starts_.empty() && v == kNone) return;
      starts_.push_back(pos);
      values_.push_back(v);
    };
    auto close_until = [&](std::uint64_t pos) {
      while (!open.empty() && open.back()->hi <= pos) {
        std::uint64_t end = open.back()->hi;
        open.pop_back();
        // Ranges under it that ended while it was on top are over too.
        while (!open.empty() && open.back()->hi <= end) open.pop_back();
        emit(end, open.empty() ? kNone : open.back()->value);
      }
    };
    for (const In& r : in_) {
      close_until(r.lo);
      emit(r.lo, r.value);
      open.push_back(&r);
    }
    close_until(~0ull);
    in_.clear();
    in_.shrink_to_fit();
  }

  // The value of the innermost range containing addr, or kNone.
  std::uint32_t find(std::uint64_t addr) const noexcept {
    auto it = std::upper_bound(starts_.begin(), starts_.end(), addr);
    if (it == starts_.begin()) return kNone;
    return values_[static_cast<std::size_t>(it - starts_.begin()) - 1];
  }

  std::size_t segments() const noexcept { return starts_.size(); }

 private:
  struct In {
    std::uint64_t lo, hi;
    std::uint32_t value, prio;
  };
  std::vector<In> in_;
  std::vector<std::uint64_t> starts_;
  std::vector<std::uint32_t> values_;
};

}  // namespace bts::detail
