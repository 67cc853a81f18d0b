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

// A sorted array of addresses answering "index of the last element <=
// addr". Addresses inside the dense window (a kernel's text and data) are
// answered through a bucket table with ~3 independent memory accesses; the
// rest, and small arrays, with a branchless binary search. A plain binary
// search over a kernel's 115k symbols or a large unit's 50k line rows costs
// ~17 dependent cache misses (~120 ns on the 2-core benchmark machine).
class SortedAddresses {
 public:
  static constexpr std::size_t kNotFound = ~std::size_t{0};

  std::vector<std::uint64_t>& vec() noexcept { return a_; }  // fill, then build()
  const std::vector<std::uint64_t>& vec() const noexcept { return a_; }
  std::size_t size() const noexcept { return a_.size(); }

  std::size_t last_le(std::uint64_t addr) const noexcept {
    std::uint64_t off = addr - dense_lo_;
    if (off < dense_span_) {
      // The answer lies between this bucket's entry and the next one's;
      // usually they are a step apart, but code is not spread evenly (a
      // unit's rows in .text and .init.text, megabytes apart, share one
      // window), so the range is searched, not walked.
      std::size_t b = off >> shift_;
      std::size_t i = bucket_[b];
      return i + last_le(a_.data() + i, bucket_[b + 1] - i + 1, addr);
    }
    return last_le(a_.data(), a_.size(), addr);
  }

  // Branchless (the compiler emits cmov): random trace addresses make a
  // branchy binary search mispredict at every other step.
  static std::size_t last_le(const std::uint64_t* a, std::size_t n, std::uint64_t key) noexcept {
    if (n == 0 || a[0] > key) return kNotFound;
    const std::uint64_t* base = a;
    while (n > 1) {
      std::size_t half = n / 2;
      base = base[half] <= key ? base + half : base;
      n -= half;
    }
    return static_cast<std::size_t>(base - a);
  }

  static constexpr std::size_t kBucketsMin = 256;          // below this a search is enough
  static constexpr std::uint64_t kMaxWindow = 1ull << 30;  // the dense window spans at most 1 GiB

  // Picks the window of at most kMaxWindow bytes holding the most addresses
  // (two pointers over the sorted array) and a bucket size of about
  // `per_bucket` elements: 4 / per_bucket bytes of table an element. O(n).
  void build(std::uint64_t per_bucket = 1) {
    bucket_.clear();
    dense_lo_ = 0;
    dense_span_ = 0;
    std::size_t n = a_.size();
    if (n < kBucketsMin) return;
    std::size_t best_i = 0, best_j = 0;
    for (std::size_t i = 0, j = 0; i < n; ++i) {
      if (j < i) j = i;
      while (j + 1 < n && a_[j + 1] - a_[i] < kMaxWindow) ++j;
      if (j - i > best_j - best_i) best_i = i, best_j = j;
    }
    std::uint64_t lo = a_[best_i], span = a_[best_j] - lo + 1;
    std::uint64_t avg = span * per_bucket / (best_j - best_i + 1);
    shift_ = 0;
    while (shift_ < 40 && (2ull << shift_) <= avg) ++shift_;
    std::size_t nb = static_cast<std::size_t>((span - 1) >> shift_) + 1;
    bucket_.resize(nb + 1);  // one more: where the last bucket's search ends
    std::size_t k = best_i;
    for (std::size_t b = 0; b <= nb; ++b) {
      // Offsets from lo: the end of a window at the top of the address
      // space (lo + span) would wrap around.
      std::uint64_t boff = static_cast<std::uint64_t>(b) << shift_;
      while (k + 1 < n && a_[k + 1] - lo <= boff) ++k;
      bucket_[b] = static_cast<std::uint32_t>(k);
    }
    dense_lo_ = lo;
    dense_span_ = static_cast<std::uint64_t>(nb) << shift_;
  }

 private:
  std::vector<std::uint64_t> a_;
  std::uint64_t dense_lo_ = 0;
  std::uint64_t dense_span_ = 0;  // 0: no bucket table
  unsigned shift_ = 0;
  std::vector<std::uint32_t> bucket_;  // last element at or before each bucket's start; one extra at the end
};

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
    starts_.vec().clear();
    values_.clear();
    std::vector<const In*> open;
    auto emit = [&](std::uint64_t pos, std::uint32_t v) {
      if (!starts_.vec().empty() && starts_.vec().back() == pos) {
        values_.back() = v;
        return;
      }
      if (!values_.empty() && values_.back() == v) return;  // same owner continues
      if (starts_.vec().empty() && v == kNone) return;
      starts_.vec().push_back(pos);
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
    starts_.build();
  }

  // The value of the innermost range containing addr, or kNone.
  std::uint32_t find(std::uint64_t addr) const noexcept {
    std::size_t i = starts_.last_le(addr);
    return i == SortedAddresses::kNotFound ? kNone : values_[i];
  }

  std::size_t segments() const noexcept { return starts_.size(); }

 private:
  struct In {
    std::uint64_t lo, hi;
    std::uint32_t value, prio;
  };
  std::vector<In> in_;
  SortedAddresses starts_;  // segment starts
  std::vector<std::uint32_t> values_;
};

}  // namespace bts::detail
