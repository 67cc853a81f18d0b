#include "symtab.h"

#include <algorithm>
#include <numeric>

namespace xentt::sym::detail {

void Symtab::reserve(std::size_t n) {
  syms_.reserve(n);
  extra_.reserve(n);
}

void Symtab::add(std::uint64_t addr, std::uint64_t size, std::string_view name, Binding b,
                 bool is_object, std::uint64_t limit) {
  if (name.empty()) return;
  std::uint64_t hi = addr + size;
  if (hi < addr) hi = ~0ull;  // wraps at the top of the address space
  syms_.push_back({addr, size ? hi : addr, name});
  extra_.push_back({b, size != 0, is_object, limit});
}

void Symtab::build() {
  // Sized symbols first. Among aliases with the same range, the one that
  // comes last in the symbol table wins: that is what llvm-symbolizer and
  // addr2line print (e.g. the kernel's weak `memcpy` over `__memcpy`).
  // Priorities are symbol numbers, all distinct: radix-sorted builds.
  IntervalIndex sized;
  sized.reserve(syms_.size());
  std::size_t sized_count = 0;
  for (std::size_t i = 0; i < syms_.size(); ++i) {
    auto n = static_cast<std::uint32_t>(i);
    if (extra_[i].sized) {
      sized.add(syms_[i].lo, syms_[i].hi, n, n);
      ++sized_count;
    }
  }
  // Asked once per unsized symbol: no lookup tables.
  sized.build({.distinct = true, .tables = false});

  // Unsized symbols (assembly labels, System.map entries) only fill gaps:
  // one that falls inside a sized symbol is skipped, the others extend to
  // the next start address of any symbol, so they lie in the sized
  // symbols' gaps and the two flattened indexes are merged (build_union),
  // not flattened together again. That next start is the nearer of where its
  // gap ends (the next sized start, from the same search that tells it is
  // in a gap) and the next unsized start (walking them in address order):
  // no sort of every symbol's start, no search a label (~20M instructions
  // on Debian's 6.1 vmlinux, 40k labels of 117k symbols).
  struct Label {
    std::uint64_t lo;
    std::uint32_t i;
  };
  std::vector<Label> labels;
  labels.reserve(syms_.size() - sized_count);
  for (std::size_t i = 0; i < syms_.size(); ++i)
    if (!extra_[i].sized) labels.push_back({syms_[i].lo, static_cast<std::uint32_t>(i)});
  radix_sort(labels, [](const Label& l) { return l.lo; });  // stable: aliases in symbol order, as `gaps` wants
  IntervalIndex gaps;
  gaps.reserve(labels.size());
  for (std::size_t k = 0, above = 0; k < labels.size(); ++k) {
    SymbolRange& s = syms_[labels[k].i];
    const std::uint64_t* next_sized;
    if (sized.find(s.lo, next_sized) != IntervalIndex::kNone) continue;
    if (above <= k) above = k + 1;
    while (above < labels.size() && labels[above].lo <= s.lo) ++above;
    if (above < labels.size() && (!next_sized || labels[above].lo < *next_sized))
      s.hi = labels[above].lo;
    else
      s.hi = next_sized ? *next_sized : s.lo + 1;
    s.hi = std::min(s.hi, extra_[labels[k].i].limit);
    if (s.hi <= s.lo) continue;  // a label at the very end of its section
    gaps.add(s.lo, s.hi, labels[k].i, labels[k].i);
  }
  gaps.build({.distinct = true, .tables = false});  // added in order: no sort
  index_.build_union(sized, gaps);
  // A slot per symbol for its demangled name, filled on first use (C
  // programs and kernels have no mangled name and get no table).
  if (demangle_ && std::any_of(syms_.begin(), syms_.end(), [](const SymbolRange& s) { return maybe_mangled(s.name); }))
    shown_ = std::make_unique<std::atomic<const std::string*>[]>(syms_.size());
}

void Symtab::build_names() const {
  std::call_once(names_once_, [this] {
    by_name_.reserve(syms_.size());
    for (std::uint32_t i = 0; i < syms_.size(); ++i) {
      auto [it, fresh] = by_name_.emplace(syms_[i].name, i);
      // Prefer a global definition over a local one of the same name.
      if (!fresh && extra_[i].binding > extra_[it->second].binding) it->second = i;
    }
  });
}

std::optional<SymbolRange> Symtab::find(std::string_view name) const {
  build_names();
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return syms_[it->second];
}

bool Symtab::has_symbol_at(std::string_view name, std::uint64_t addr) const {
  std::call_once(addr_once_, [this] {
    by_addr_.resize(syms_.size());
    std::iota(by_addr_.begin(), by_addr_.end(), 0u);
    std::sort(by_addr_.begin(), by_addr_.end(),
              [this](std::uint32_t a, std::uint32_t b) { return syms_[a].lo < syms_[b].lo; });
  });
  auto it = std::lower_bound(by_addr_.begin(), by_addr_.end(), addr,
                             [this](std::uint32_t i, std::uint64_t a) { return syms_[i].lo < a; });
  for (; it != by_addr_.end() && syms_[*it].lo == addr; ++it) {
    // Clone suffixes count as the base name: "foo.isra.0" is "foo".
    std::string_view base = syms_[*it].name;
    if (std::size_t dot = base.find('.'); dot != std::string_view::npos && dot > 0) base = base.substr(0, dot);
    if (base == name) return true;
  }
  return false;
}

std::string_view Symtab::shown_slow(std::size_t i) const {
  std::lock_guard lock(shown_mu_);
  auto [it, fresh] = demangled_.try_emplace(syms_[i].name);
  if (fresh) {
    auto d = demangle_name(syms_[i].name);
    it->second = std::make_unique<std::string>(d ? std::move(*d) : std::string(syms_[i].name));
  }
  shown_[i].store(it->second.get(), std::memory_order_release);
  return *it->second;
}

}  // namespace xentt::sym::detail
