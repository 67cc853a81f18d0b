// symtab.h (internal): a file's symbol table as a flat range index.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "xentt/symbolize/symbol_file.h"
#include "demangle.h"
#include "interval_index.h"

namespace xentt::sym::detail {

class Symtab {
 public:
  enum Binding : std::uint8_t { Local = 0, Weak = 1, Global = 2 };

  // Adds a symbol. size 0 means "unknown": such a symbol extends to the
  // next symbol's start (labels in assembly, System.map entries) but not
  // past `limit` (the end of its ELF section), and never shadows a sized
  // symbol.
  void add(std::uint64_t addr, std::uint64_t size, std::string_view name, Binding b, bool is_object,
           std::uint64_t limit = ~0ull);
  // A name made here (not in the file: a PLT entry's "free@plt"), kept as
  // long as the table, for add().
  std::string_view keep_name(std::string name) { return owned_names_.emplace_back(std::move(name)); }
  // Room for `n` symbols (a hint: add() grows as needed).
  void reserve(std::size_t n);
  // Sorts and flattens; call once after the last add().
  void build();

  std::size_t size() const noexcept { return syms_.size(); }
  const SymbolRange* at(std::uint64_t addr) const noexcept {
    std::uint32_t i = index_.find(addr);
    return i == IntervalIndex::kNone ? nullptr : &syms_[i];
  }
  std::optional<SymbolRange> find(std::string_view name) const;
  // Whether a symbol called `name` (clone suffixes like ".isra.0" allowed)
  // starts at `addr`. Costs a binary search over the symbols sorted by
  // address, built on the first call (~10 ms for a kernel, less than
  // hashing every name).
  bool has_symbol_at(std::string_view name, std::uint64_t addr) const;

  // Names are shown demangled (shown()) when this is on; set before build()
  // (which makes a slot per symbol when any name looks mangled).
  void set_demangle(bool on) noexcept { demangle_ = on; }
  // The name to print for `s` (one of this table's entries, from at()):
  // its name, demangled when that is on and it is a mangled name. A C name
  // costs a compare of its first bytes; a mangled one is demangled on its
  // first call (once per distinct name, under a lock) and then costs an
  // atomic load. Thread-safe.
  bool demangles() const noexcept { return shown_ != nullptr; }
  std::string_view shown(const SymbolRange* s) const {
    if (!shown_ || !maybe_mangled(s->name)) return s->name;
    std::size_t i = static_cast<std::size_t>(s - syms_.data());
    if (const std::string* p = shown_[i].load(std::memory_order_acquire)) return *p;
    return shown_slow(i);
  }

 private:
  struct Extra {
    Binding binding;
    bool sized;
    bool is_object;
    std::uint64_t limit;
  };
  std::vector<SymbolRange> syms_;
  std::deque<std::string> owned_names_;  // keep_name()'s: a deque never moves its strings
  std::vector<Extra> extra_;
  IntervalIndex index_;
  // Built on first use (~30 ms for a kernel), once even when threads race.
  mutable std::once_flag names_once_;
  mutable std::unordered_map<std::string_view, std::uint32_t> by_name_;
  void build_names() const;
  mutable std::once_flag addr_once_;
  mutable std::vector<std::uint32_t> by_addr_;  // symbol numbers by start address
  // Demangled names: per symbol, once made (null: not yet; no table: no
  // demangling, or no mangled name); the strings by mangled name (aliases
  // share one).
  bool demangle_ = false;
  std::unique_ptr<std::atomic<const std::string*>[]> shown_;
  mutable std::mutex shown_mu_;
  mutable std::unordered_map<std::string_view, std::unique_ptr<std::string>> demangled_;
  std::string_view shown_slow(std::size_t i) const;
};

}  // namespace xentt::sym::detail
