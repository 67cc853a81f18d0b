#include "symtab.h"

#include <algorithm>
#include <numeric>

namespace bts::detail {

void Symtab::add(std::uint64_t addr, std::uint64_t size, std::string_view name, Binding b,
                 bool is_object) {
  if (name.empty()) return;
  std::uint64_t hi = addr + size;
  if (hi < addr) hi = ~0ull;  // wraps at the top of the address space
  syms_.push_back({addr, size ? hi : addr, name});
  extra_.push_back({b, size != 0, is_object});
}

void Symtab::build() {
  // Unsized symbols end at the next distinct start address after theirs.
  std::vector<std::uint64_t> starts;
  starts.reserve(syms_.size());
  for (auto& s : syms_) starts.push_back(s.lo);
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  std::vector<std::uint64_t> sized_starts;
  for (std::size_t i = 0; i < syms_.size(); ++i)
    if (extra_[i].sized) sized_starts.push_back(syms_[i].lo);
  std::sort(sized_starts.begin(), sized_starts.end());

  for (std::size_t i = 0; i < syms_.size(); ++i) {
    SymbolRange& s = syms_[i];
    const Extra& e = extra_[i];
    std::uint32_t prio = static_cast<std::uint32_t>(e.binding) * 2 + (e.is_object ? 0 : 1);
    if (!e.sized) {
      if (std::binary_search(sized_starts.begin(), sized_starts.end(), s.lo)) continue;
      auto nx = std::upper_bound(starts.begin(), starts.end(), s.lo);
      s.hi = nx == starts.end() ? s.lo + 1 : *nx;
      index_.add(s.lo, s.hi, static_cast<std::uint32_t>(i), prio);  // lowest tier
      continue;
    }
    // Sized symbols rank above unsized ones at the same range.
    index_.add(s.lo, s.hi, static_cast<std::uint32_t>(i), prio + 8);
  }
  index_.build();
}

std::optional<SymbolRange> Symtab::find(std::string_view name) const {
  if (by_name_.empty() && !syms_.empty()) {
    by_name_.reserve(syms_.size());
    for (std::uint32_t i = 0; i < syms_.size(); ++i) {
      auto [it, fresh] = by_name_.emplace(syms_[i].name, i);
      // Prefer a global definition over a local one of the same name.
      if (!fresh && extra_[i].binding > extra_[it->second].binding) it->second = i;
    }
  }
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return syms_[it->second];
}

}  // namespace bts::detail
