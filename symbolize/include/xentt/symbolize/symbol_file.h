// xentt/symbolize/symbol_file.h: one symbol file (ELF with optional DWARF, or a
// System.map/kallsyms text file) and the lookups it answers.
//
// Layers, as in LLVM's symbolizer and libdwfl: SymbolFile is the per-file
// lookup and returns structs, never strings; Symbolizer (symbolizer.h) maps
// guest addresses to files and caches them; printer.h formats.
//
// Cost model: opening a file maps it and reads the symbol table eagerly
// (sorted into a flat range table: ~20 ns per lookup afterwards) and the
// list of DWARF compile units with their address ranges (one pass over the
// unit headers, not the DIEs). A compile unit's line table and functions
// are parsed on the first lookup that falls into it (~0.5 ms for a kernel
// CU), a function's body (its inline frames) on the first lookup in that
// function, and kept. A SymbolFile is not thread-safe: lookups fill those
// caches (except symbol_at and frames_at_parsed, which only read).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace xentt::sym {

// A symbol table entry: [lo, hi) in the file's own addresses.
struct SymbolRange {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  std::string_view name;  // valid while the SymbolFile lives
};

// One frame of a source location. Frames come innermost first: frame 0 is
// the innermost inlined function with the line table's file:line; each
// further frame is a caller, with the file:line of the call site.
struct Frame {
  std::string_view function;  // linkage (mangled) name, or plain name; empty if unknown
  std::string_view file;      // as DWARF gives it (comp dir joined); empty if unknown
  std::uint32_t line = 0;     // 0: unknown
  std::uint32_t column = 0;
};

class SymbolFile {
 public:
  // Opens an ELF file (symbol table, DWARF if present) or a text symbol
  // list ("ADDR TYPE NAME" lines, as in System.map or /proc/kallsyms).
  // Throws xentt::Error (bad_input naming the file and what is wrong, or a
  // system error) for a missing, unreadable, corrupt or symbol-less file.
  static std::unique_ptr<SymbolFile> open(const std::string& path);
  // The same from memory (`bytes` must outlive the object); for tests/fuzzing.
  static std::unique_ptr<SymbolFile> from_memory(std::span<const std::byte> bytes,
                                                 const std::string& name);
  virtual ~SymbolFile();

  const std::string& path() const noexcept;
  std::size_t symbol_count() const noexcept;
  bool has_dwarf() const noexcept;

  // The innermost symbol containing `addr` (a file address). O(log n).
  const SymbolRange* symbol_at(std::uint64_t addr) const noexcept;

  // Name -> range of a function or object symbol (the first definition when
  // several share a name; globals win over locals). The name index is built
  // on the first call (~30 ms for a kernel), then O(1).
  std::optional<SymbolRange> find_symbol(std::string_view name) const;

  // Appends the source frames at `addr` to `out` (cleared first): all
  // inline frames when `inlines`, else only the innermost. Empty when the
  // file has no line information for addr. Parses the enclosing compile
  // unit on first use. Corrupt DWARF in a unit makes that unit answer
  // nothing (reported once through warning()).
  void frames_at(std::uint64_t addr, bool inlines, std::vector<Frame>& out);
  // The same for batches on several threads: nothing is parsed here, so an
  // address whose unit prefetch() (or frames_at()) has not parsed gets only
  // the symbol table's name, and one whose function body has not been read
  // gets no inline frames. Reads only: any number of threads may call it
  // at once, as long as no call that parses runs meanwhile.
  void frames_at_parsed(std::uint64_t addr, bool inlines, std::vector<Frame>& out) const;

  // Parses ahead, on up to `threads` threads, the compile units and
  // function bodies that frames_at() will need for `addrs` (a batch of
  // input). Optional: lookups parse what they need anyway, one at a time.
  void prefetch(std::span<const std::uint64_t> addrs, unsigned threads);

  // A problem found lazily (e.g. a corrupt compile unit), to be reported
  // once by the caller; empty if none. Cleared by the call.
  std::string take_warning();

  struct Impl;

 private:
  explicit SymbolFile(std::unique_ptr<Impl> impl);
  void name_frames(std::uint64_t addr, std::uint64_t plain_entry, std::vector<Frame>& out) const;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xentt::sym
