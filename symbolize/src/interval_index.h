// interval_index.h (internal): address -> value for possibly nested ranges.
//
// Symbols nest (a local label inside a function), compile units and inline
// scopes nest. build() flattens the ranges once into sorted, disjoint
// segments where the innermost range wins (latest start, then shortest,
// then highest priority), so a lookup is one search over a plain array of
// starts (structure of arrays: the search touches only starts).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace xentt::sym::detail {

// Sorts `v` stably by key(e), an unsigned 64-bit number: LSD radix sort,
// 16 bits a pass, skipping the passes where every key agrees. O(n),
// against std::sort's n log n comparisons of whole elements.
template <class T, class Key>
void radix_sort(std::vector<T>& v, Key key) {
  std::size_t n = v.size();
  if (n < 4096 || n > 0xffffffffu) {
    std::stable_sort(v.begin(), v.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
    return;
  }
  constexpr unsigned kBits = 16, kPasses = 64 / kBits;
  constexpr std::size_t kBuckets = std::size_t{1} << kBits;
  // Every pass's histogram, from one pass over v. calloc: large blocks
  // come zeroed from the kernel, not memset (1 MB).
  std::unique_ptr<std::uint32_t, void (*)(void*)> counts(
      static_cast<std::uint32_t*>(std::calloc(kPasses * kBuckets, sizeof(std::uint32_t))), std::free);
  if (!counts) throw std::bad_alloc();
  std::uint32_t* count = counts.get();
  for (const T& e : v) {
    std::uint64_t k = key(e);
    for (unsigned d = 0; d < kPasses; ++d) ++count[d * kBuckets + ((k >> (kBits * d)) & (kBuckets - 1))];
  }
  std::unique_ptr<T[]> tmp(new T[n]);  // not zero-filled: every element is written before it is read
  T* src = v.data();
  T* dst = tmp.get();
  for (unsigned d = 0; d < kPasses; ++d) {
    std::uint32_t* c = &count[d * kBuckets];
    unsigned shift = kBits * d;
    if (c[(key(src[0]) >> shift) & (kBuckets - 1)] == n) continue;  // the same digit everywhere
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      std::uint32_t t = c[i];
      c[i] = sum;
      sum += t;
    }
    for (std::size_t i = 0; i < n; ++i) dst[c[(key(src[i]) >> shift) & (kBuckets - 1)]++] = src[i];
    std::swap(src, dst);
  }
  if (src != v.data()) std::copy(src, src + n, v.data());
}

// An allocator whose vectors leave new elements uninitialized on resize()
// (std::allocator's zero them): for arrays that are written in place
// right after, such as an index's segments (~10M instructions of zeroing
// for a kernel's symbols).
template <class T>
struct UninitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() noexcept = default;
  template <class U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;  // default-initialized: left as it is
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
template <class T>
using UninitVector = std::vector<T, UninitAllocator<T>>;

// A sorted array of addresses answering "index of the last element <=
// addr" through windows with bucket tables: a lookup searches the few
// window starts, then the bucket of its window (~3 independent memory
// accesses); an address in the gap after a window is answered at once. A
// plain binary search over a large unit's 50k line rows or a kernel's 115k
// symbols costs ~17 dependent cache misses (~120 ns on the 2-core
// benchmark machine). build() picks the better of two layouts by the
// expected search length:
// - the densest 1 GiB of addresses as one window (a kernel's symbols:
//   text and data, evenly spread), the rest searched plainly;
// - one window per cluster, cut at gaps wider than kGap, each with buckets
//   sized to its own density: a compile unit's line rows lie in .text,
//   .text.unlikely, .init.text..., megabytes apart, where one table over
//   the whole span puts all of the unit's .text in one bucket.
class SortedAddresses {
 public:
  static constexpr std::size_t kNotFound = ~std::size_t{0};

  UninitVector<std::uint64_t>& vec() noexcept { return a_; }  // fill (resize() leaves it unset), then build()
  const UninitVector<std::uint64_t>& vec() const noexcept { return a_; }
  std::size_t size() const noexcept { return a_.size(); }

  std::size_t last_le(std::uint64_t addr) const noexcept {
    const Layout& l = layout_;
    // The window with the most elements first, from this object's own
    // cache line: most lookups land there.
    if (std::uint64_t off = addr - l.main_lo; off < l.main.span) return in_window(l.main, off, addr);
    if (l.win_lo.empty()) return last_le(a_.data(), a_.size(), addr);
    std::size_t wi = last_le(l.win_lo.data(), l.win_lo.size(), addr);
    if (wi == kNotFound) return kNotFound;
    const Window& w = l.win[wi];
    std::uint64_t off = addr - l.win_lo[wi];
    if (off >= w.span) return w.last;  // in the gap after the window
    return in_window(w, off, addr);
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

  static constexpr std::size_t kBucketsMin = 64;           // a smaller window is searched
  static constexpr std::uint64_t kGap = 1ull << 16;        // clusters: a wider gap starts a window
  static constexpr std::uint64_t kMaxWindow = 1ull << 30;  // the dense window spans at most 1 GiB

  // Builds both layouts with buckets of about `per_bucket` elements (4 /
  // per_bucket bytes of table an element) and keeps the better. O(n).
  void build(std::uint64_t per_bucket = 1) {
    layout_ = Layout{};
    std::size_t n = a_.size();
    if (n < kBucketsMin) return;
    // The densest window (two pointers over the sorted array).
    std::size_t best_i = 0, best_j = 0;
    for (std::size_t i = 0, j = 0; i < n; ++i) {
      if (j < i) j = i;
      while (j + 1 < n && a_[j + 1] - a_[i] < kMaxWindow) ++j;
      if (j - i > best_j - best_i) best_i = i, best_j = j;
    }
    Layout dense;
    if (best_i > 0) add_window(dense, 0, best_i - 1, 0);
    add_window(dense, best_i, best_j, per_bucket);
    if (best_j + 1 < n) add_window(dense, best_j + 1, n - 1, 0);
    dense.cost += static_cast<double>(n) * log2_up(dense.win.size());
    // Searches of about a bucket's size: as good as it gets.
    if (dense.cost <= static_cast<double>(n) * (log2_up(per_bucket + 2) + 1)) {
      layout_ = std::move(dense);
      return;
    }
    // The cluster layout: not costed when searching its window starts
    // alone would cost more than the dense layout (a kernel's symbols: text,
    // data and per-CPU clusters; that skips ~8M instructions at load); else
    // first only costed (its windows, not their bucket tables), and made if
    // it wins.
    std::size_t windows = 0;
    for (std::size_t i = 0; i < n; ++windows) i = cluster_end(i) + 1;
    if (static_cast<double>(n) * log2_up(windows) >= dense.cost) {
      layout_ = std::move(dense);
      return;
    }
    Layout clusters = cluster_layout(per_bucket, false);
    if (clusters.cost < dense.cost)
      layout_ = cluster_layout(per_bucket, true);
    else
      layout_ = std::move(dense);
  }

 private:
  static constexpr std::uint8_t kNoBuckets = 0xff;
  struct Window {
    std::uint64_t span;         // a_[last] - its first address + 1
    std::uint32_t first, last;  // its elements, in a_
    std::uint32_t bucket;       // its first entry in Layout::bucket
    std::uint8_t shift;         // bucket size 1 << shift bytes, or kNoBuckets
  };
  struct Layout {
    std::uint64_t main_lo = 0;
    Window main{0, 0, 0, 0, kNoBuckets};  // a copy of the largest window (span 0: none)
    std::vector<std::uint64_t> win_lo;  // each window's first address (searched)
    std::vector<Window> win;
    std::vector<std::uint32_t> bucket;  // per window: last element at or before each bucket's start; one extra
    double cost = 0;  // sum over elements of log2(the search range that finds them), plus the window search
    bool tables = true;  // false: only the cost is counted (no bucket entries are kept)
  };

  // The last element of the cluster that starts at element i (a gap wider
  // than kGap ends it).
  std::size_t cluster_end(std::size_t i) const noexcept {
    while (i + 1 < a_.size() && a_[i + 1] - a_[i] <= kGap) ++i;
    return i;
  }
  // One window per cluster of addresses.
  Layout cluster_layout(std::uint64_t per_bucket, bool tables) const {
    Layout l;
    l.tables = tables;
    std::size_t n = a_.size();
    for (std::size_t i = 0; i < n;) {
      std::size_t j = cluster_end(i);
      add_window(l, i, j, per_bucket);
      i = j + 1;
    }
    // Every lookup also searches the window starts.
    l.cost += static_cast<double>(n) * log2_up(l.win.size());
    return l;
  }

  // `addr` at `off` inside window `w`.
  std::size_t in_window(const Window& w, std::uint64_t off, std::uint64_t addr) const noexcept {
    if (w.shift == kNoBuckets) return w.first + last_le(a_.data() + w.first, w.last - w.first + 1, addr);
    // The answer lies between this bucket's entry and the next one's.
    std::size_t b = w.bucket + static_cast<std::size_t>(off >> w.shift);
    std::size_t i = layout_.bucket[b];
    return i + last_le(a_.data() + i, layout_.bucket[b + 1] - i + 1, addr);
  }

  static double log2_up(std::size_t n) noexcept { return n > 1 ? std::bit_width(n - 1) : 0; }

  // Window of elements [i, j]; with buckets unless `per_bucket` is 0 or the
  // window is small.
  void add_window(Layout& l, std::size_t i, std::size_t j, std::uint64_t per_bucket) const {
    std::uint64_t lo = a_[i], span = a_[j] - lo + 1;
    Window w{span, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j), 0, kNoBuckets};
    std::size_t count = j - i + 1;
    if (per_bucket && count >= kBucketsMin) {
      std::uint64_t avg = span / count * per_bucket;
      std::uint8_t shift = 0;
      while (shift < 40 && (2ull << shift) <= avg) ++shift;
      std::size_t nb = static_cast<std::size_t>((span - 1) >> shift) + 1;
      w.shift = shift;
      w.bucket = static_cast<std::uint32_t>(l.bucket.size());
      // The entries written in place (sized once: no push_back's capacity
      // check a bucket) and the cost summed as an integer (exact, as the
      // double sum of these integers is).
      std::uint32_t* out = nullptr;
      if (l.tables) {
        l.bucket.resize(l.bucket.size() + nb + 1);
        out = l.bucket.data() + w.bucket;
      }
      std::size_t k = i, prev = i;
      std::uint64_t cost = 0;
      for (std::size_t b = 0; b <= nb; ++b) {  // one more: where the last bucket's search ends
        std::uint64_t boff = static_cast<std::uint64_t>(b) << shift;
        while (k < j && a_[k + 1] - lo <= boff) ++k;
        if (out) out[b] = static_cast<std::uint32_t>(k);
        if (b > 0) {
          std::size_t in = k - prev;  // elements that start in bucket b-1
          cost += in * static_cast<std::uint64_t>(std::bit_width(in + 1));  // in * log2_up(in + 2)
        }
        prev = k;
      }
      l.cost += static_cast<double>(cost);
    } else {
      l.cost += static_cast<double>(count) * log2_up(count);
    }
    l.win_lo.push_back(lo);
    l.win.push_back(w);
    if (count > std::size_t{l.main.last - l.main.first} + (l.main.span ? 1 : 0)) {
      l.main_lo = lo;
      l.main = w;
    }
  }

  UninitVector<std::uint64_t> a_;
  Layout layout_;
};

class IntervalIndex {
 public:
  static constexpr std::uint32_t kNone = ~0u;

  // [lo, hi), hi exclusive; empty ranges are ignored.
  void add(std::uint64_t lo, std::uint64_t hi, std::uint32_t value, std::uint32_t priority = 0) {
    if (lo < hi) in_.push_back({lo, hi, value, priority});
  }

  void reserve(std::size_t n) { in_.reserve(n); }

  // How build() works: `distinct`: no two ranges have the same priority
  // (a symbol's number), so the order is total and a radix sort by start
  // gives std::sort's order (ties at one start sorted after). `tables`:
  // make the lookup tables of find() (off: a plain binary search, for an
  // index queried a few times).
  struct BuildOptions {
    bool distinct = false;
    bool tables = true;
  };
  // Makes this index the union of `a` and `b` (both built), whose ranges
  // no point shares (each lies in the other's gaps; where both hold a
  // value, a's is kept): their segments merged in one pass, O(segments),
  // instead of their ranges sorted and flattened together again. `tables`
  // as in build().
  void build_union(const IntervalIndex& a, const IntervalIndex& b, bool tables = true) {
    in_.clear();
    const auto& as = a.starts_.vec();
    const auto& bs = b.starts_.vec();
    Segments out(*this, as.size() + bs.size());
    std::uint32_t va = kNone, vb = kNone;  // each one's value at the position reached
    for (std::size_t i = 0, j = 0; i < as.size() || j < bs.size();) {
      std::uint64_t pos = j == bs.size() || (i < as.size() && as[i] <= bs[j]) ? as[i] : bs[j];
      if (i < as.size() && as[i] == pos) va = a.values_[i++];
      if (j < bs.size() && bs[j] == pos) vb = b.values_[j++];
      out.emit(pos, va != kNone ? va : vb);
    }
    out.finish();
    if (tables) starts_.build();
  }
  // Flattens the added ranges. O(n log n), O(n) with `distinct`; frees
  // the input list.
  void build() { build(BuildOptions{}); }
  void build(BuildOptions bo) {
    auto before = [](const In& a, const In& b) {
      if (a.lo != b.lo) return a.lo < b.lo;
      if (a.hi != b.hi) return a.hi > b.hi;  // outer first, inner pushed later
      return a.prio < b.prio;                // higher priority pushed later
    };
    auto sort = [&](std::vector<In>& v) {
      // Ranges added in order (a symbol table's labels, walked by address)
      // cost one pass; unsorted input stops the check at its first
      // inversion.
      if (std::is_sorted(v.begin(), v.end(), before)) return;
      if (!bo.distinct) {
        std::sort(v.begin(), v.end(), before);
        return;
      }
      radix_sort(v, [](const In& r) { return r.lo; });
      for (std::size_t i = 0; i < v.size();) {
        std::size_t j = i + 1;
        while (j < v.size() && v[j].lo == v[i].lo) ++j;
        if (j - i > 16) {
          // A big group is mostly aliases of one unsized label (a kernel's
          // 9k __kstrtabns_* at one address): one range, in symbol order
          // already (the radix sort is stable), so checked before sorted
          // (9M instructions of std::sort on Debian's 6.1 vmlinux).
          auto b = v.begin() + static_cast<std::ptrdiff_t>(i), e = v.begin() + static_cast<std::ptrdiff_t>(j);
          if (!std::is_sorted(b, e, before)) std::sort(b, e, before);
        } else {  // aliases: a few symbols at one address
          for (std::size_t k = i + 1; k < j; ++k)
            for (std::size_t m = k; m > i && before(v[m], v[m - 1]); --m) std::swap(v[m], v[m - 1]);
        }
        i = j;
      }
    };
    sort(in_);
    // At most two segments a range (its start, and where it ends).
    Segments out(*this, 2 * in_.size());
    auto emit = [&](std::uint64_t pos, std::uint32_t v) { out.emit(pos, v); };
    std::vector<const In*> open;
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
    out.finish();
    in_.clear();
    in_.shrink_to_fit();
    if (bo.tables) starts_.build();
  }

  // The value of the innermost range containing addr, or kNone.
  std::uint32_t find(std::uint64_t addr) const noexcept {
    std::size_t i = starts_.last_le(addr);
    return i == SortedAddresses::kNotFound ? kNone : values_[i];
  }

  // find(addr), and in `next` the start of the segment after addr's (null
  // when none): for an address outside every range, where the next range
  // starts. The same one search.
  std::uint32_t find(std::uint64_t addr, const std::uint64_t*& next) const noexcept {
    std::size_t i = starts_.last_le(addr);
    std::size_t n = i == SortedAddresses::kNotFound ? 0 : i + 1;
    next = n < starts_.size() ? starts_.vec().data() + n : nullptr;
    return i == SortedAddresses::kNotFound ? kNone : values_[i];
  }

  std::size_t segments() const noexcept { return starts_.size(); }

 private:
  struct In {
    std::uint64_t lo, hi;
    std::uint32_t value, prio;
  };
  // Writes an index's segments in place (sized once for at most `max`:
  // no capacity check a segment, ~15 instructions less than two
  // push_backs), then trims them (finish()).
  class Segments {
   public:
    Segments(IntervalIndex& ix, std::size_t max) : ix_(ix) {
      ix.starts_.vec().resize(max);
      ix.values_.resize(max);
      pos_ = ix.starts_.vec().data();
      val_ = ix.values_.data();
    }
    // Appends segment [pos, next one) holding v: a segment at the same
    // position is replaced, one that continues the last value is not made.
    void emit(std::uint64_t pos, std::uint32_t v) noexcept {
      if (n_ && pos_[n_ - 1] == pos) {
        val_[n_ - 1] = v;
        return;
      }
      if (n_ ? val_[n_ - 1] == v : v == kNone) return;  // same owner continues; nothing before the first
      pos_[n_] = pos;
      val_[n_++] = v;
    }
    void finish() {
      ix_.starts_.vec().resize(n_);
      ix_.values_.resize(n_);
    }

   private:
    IntervalIndex& ix_;
    std::uint64_t* pos_;
    std::uint32_t* val_;
    std::size_t n_ = 0;
  };

  std::vector<In> in_;
  SortedAddresses starts_;  // segment starts
  UninitVector<std::uint32_t> values_;
};

}  // namespace xentt::sym::detail
