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
#include <utility>
#include <vector>

namespace xentt::sym {

// Where the sections of a relocatable ELF file (ET_REL: a Linux kernel
// module's .ko) were loaded: section name -> address. A name the file does
// not have is ignored.
using SectionAddresses = std::vector<std::pair<std::string, std::uint64_t>>;

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
  std::string_view function;  // linkage name (demangled unless LoadOptions::demangle is off), or plain name;
                              // empty if unknown
  std::string_view file;      // as DWARF gives it (comp dir joined); empty if unknown
  std::uint32_t line = 0;     // 0: unknown
  std::uint32_t column = 0;
};

class DebugFileFinder;

// How a file is loaded.
struct LoadOptions {
  // Names printed demangled, as c++filt prints them (C++, Rust legacy and
  // v0): symbol names through shown_name(), frame function names as
  // frames_at() gives them. Each distinct name is demangled once, when
  // first needed.
  bool demangle = true;
  // Where to look for the separate debug file of an ELF without DWARF,
  // and for dwz's supplementary file (debug_file.h); null: nowhere (the
  // file's own symbols and DWARF only). Used while open() runs.
  DebugFileFinder* debug_files = nullptr;
  // Read the DWARF (lines, inline frames). Off, for symbol+offset only: the
  // unit headers are not listed (half the load of a kernel: ~0.05 s, 195M
  // instructions for Debian's 6.1 vmlinux), compressed sections are not
  // inflated and no dwz file is looked for; frames then come from the
  // symbol table alone. A file with no symbol table reads its DWARF anyway.
  bool dwarf = true;
  // A relocatable file (ET_REL) loaded at these section addresses: its
  // symbols are placed at their section's address (symbols of sections not
  // listed are left out), and its DWARF is relocated to match (its
  // .rela.debug_* sections applied; debug sections are at 0). Empty: every
  // section at 0, symbols at their section-relative values, as addr2line -j
  // SECTION reads them. Ignored for other files.
  SectionAddresses sections;
};

// `name` demangled as c++filt prints it, or `name` itself when it is not
// a mangled name. ~1-3 us for a C++ name.
std::string demangle(std::string_view name);

class SymbolFile {
 public:
  // Opens an ELF file (symbol table, DWARF if present) or a text symbol
  // list ("ADDR TYPE NAME" lines, as in System.map or /proc/kallsyms).
  // An ELF without DWARF of its own gets its separate debug file's DWARF
  // (and its .symtab, when the file has only .dynsym) when
  // `opt.debug_files` finds one; one with a .gnu_debugaltlink gets dwz's
  // supplementary file the same way. Problems with those (not found, not
  // matching) are reported through the finder, and the file loads without
  // them. Throws xentt::Error (bad_input naming the file and what is
  // wrong, or a system error) for a missing, unreadable, corrupt or
  // symbol-less file. Cost: the search (a few stat()s when the file has
  // DWARF, a CRC-32 of debuglink candidates), then what the header says.
  static std::unique_ptr<SymbolFile> open(const std::string& path, const LoadOptions& opt = {});
  // The same from memory (`bytes` must outlive the object); for tests/fuzzing.
  // No debug file is looked for.
  static std::unique_ptr<SymbolFile> from_memory(std::span<const std::byte> bytes,
                                                 const std::string& name, const LoadOptions& opt = {});
  virtual ~SymbolFile();

  const std::string& path() const noexcept;
  std::size_t symbol_count() const noexcept;
  bool has_dwarf() const noexcept;
  // The separate debug file whose DWARF this file uses; empty: none.
  const std::string& debug_file() const noexcept;
  // dwz's supplementary file in use; empty: none.
  const std::string& alt_file() const noexcept;

  // The innermost symbol containing `addr` (a file address). O(log n).
  // Its `name` is the symbol table's (mangled); print shown_name().
  const SymbolRange* symbol_at(std::uint64_t addr) const noexcept;
  // The name to print for `s` (from symbol_at()): demangled when
  // LoadOptions::demangle. O(1) after the first call for that symbol;
  // thread-safe.
  std::string_view shown_name(const SymbolRange* s) const;
  // Whether shown_name() may differ from the symbol's name (demangling on
  // and some name looks mangled); when not, callers may skip the call.
  bool demangles_symbols() const noexcept;

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
