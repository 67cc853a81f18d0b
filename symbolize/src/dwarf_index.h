// dwarf_index.h (internal): lazy per-compile-unit line and inline index.
//
// At open: one pass over the unit headers (libdw), reading only each unit
// DIE's address ranges into a range index; libdw is closed after that. On
// the first lookup in a unit: its line table (dwarf_lines.h) is flattened
// into a sorted array of address -> (file, line, column) rows, and its
// subprograms (dwarf_scopes.h) become ranges pointing at scope nodes. On
// the first lookup in a function: its body's inlined subroutines become
// nested ranges (innermost wins) pointing at scope nodes that know their
// parent, name and call site. All are read straight from the mapped
// sections; lookups only search the arrays.
#pragma once

#include <elfutils/libdw.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "xentt/symbolize/symbol_file.h"
#include "dwarf_lines.h"
#include "dwarf_scopes.h"
#include "dwarf_sections.h"
#include "interval_index.h"

namespace xentt::sym::detail {

class DwarfIndex {
 public:
  // nullptr when the ELF has no DWARF. Throws bad_input when the DWARF is
  // present but its unit headers are corrupt (naming `path` and the offset).
  // `image`/`image_len`: the whole file in memory (the private mapping of
  // the file, or a memory image); `mapped`: the image is a file mapping
  // whose clean pages may be dropped after parsing (see drop_pages()).
  // The index reads the DWARF sections of `elf` until it is destroyed.
  // `demangle`: function names that are linkage names are kept demangled
  // (each distinct name once per unit, when the unit or body is read).
  // `sup`: dwz's supplementary file, when the file has one and it was
  // found (it must outlive the index).
  static std::unique_ptr<DwarfIndex> open(Elf* elf, const std::string& path, void* image = nullptr,
                                          std::size_t image_len = 0, bool mapped = false, bool demangle = false,
                                          const SupSections* sup = nullptr);

  // Parses, on up to `threads` threads, every not yet parsed unit that one
  // of `addrs` falls in, so that the lookups that follow find them ready.
  // For batches (a block of tt_symbolize's input, of bts_dump's records):
  // units are independent and the parsers only read the mapped sections,
  // so two cores parse twice as many; each thread writes distinct unit
  // slots and join() publishes them.
  void prefetch(const std::uint64_t* addrs, std::size_t n, unsigned threads);
  ~DwarfIndex();

  // Frames at addr, innermost first (see SymbolFile::frames_at). Returns
  // the outermost scope's entry address when its name is a plain
  // DW_AT_name (no linkage name in the DWARF, as for static C++ functions)
  // so the caller may prefer the symbol table's name; 0 otherwise.
  std::uint64_t frames_at(std::uint64_t addr, bool inlines, std::vector<Frame>& out);
  // The same without parsing: a unit not parsed yet (by prefetch() or an
  // earlier frames_at()) answers nothing. Reads only, so several threads
  // may call it at once while nothing parses.
  std::uint64_t frames_at_parsed(std::uint64_t addr, bool inlines, std::vector<Frame>& out) const;
  std::string take_warning() { return std::move(warning_); }
  std::size_t unit_count() const noexcept { return units_.size(); }

 private:
  static constexpr std::uint32_t kNoFile = ScopeNode::kNoFile;
  using Row = LineRow;  // the address is in UnitData::row_addr; `file` indexes UnitData::files
  struct UnitData {
    std::vector<Row> rows;
    SortedAddresses row_addr;  // rows[i]'s address, searched
    // The unit's functions (read_functions) come first in `scopes`, then
    // the scopes of each function body read so far; or, once a lookup fell
    // outside every function (where a nested function may lie), every
    // scope of the unit (read_scopes), and `whole` is set.
    std::vector<ScopeNode> scopes;  // call_file indexes UnitData::files
    IntervalIndex scope_index;      // the functions, or every scope when whole
    std::vector<std::uint64_t> bodies;  // per function: its first child DIE's offset, 0: none
    std::vector<std::unique_ptr<IntervalIndex>> body_index;  // per function: its body's scopes, once read
    bool any_body = false;  // some function has children
    bool whole = false;
    std::vector<std::string_view> files;                // file names, by index
    std::vector<std::unique_ptr<std::string>> strings;  // their storage, and demangled names
    // Demangled linkage names by the address of the mangled one (in the
    // mapped file): an inlined function's name comes back for each of its
    // inline instances.
    std::unordered_map<const char*, std::string_view> demangled;
    // The line table's file list (call sites of bodies read later name
    // files from it), which of them have a `files` slot yet, the comp dir.
    std::vector<LineFile> line_files;
    std::vector<std::uint32_t> file_slot;
    std::string_view comp_dir;

    // The `files` index of line table file `f` (kNoFile: none), made on
    // first use: a relative name is joined with its directory, then with
    // the comp dir, as addr2line and llvm-symbolizer print them.
    std::uint32_t file_index(std::uint32_t f);
    // Whether a lookup of `addr` needs scopes not read yet.
    bool needs_scopes(std::uint64_t addr) const;
    // Demangles the linkage names of scopes[first..] in place.
    void demangle_from(std::size_t first);
  };
  struct Unit {
    std::uint64_t offset;  // of the unit header in .debug_info
    std::unique_ptr<UnitData> data;  // null until first use
    bool failed = false;
  };

  // What a parsing thread reuses from unit to unit: a large unit's line
  // table grows to megabytes, and growing it afresh for every unit costs
  // reallocations and page faults; and the last unit's reader, for its
  // function bodies (a reader costs a pass over the unit's abbreviations).
  struct Scratch {
    LineTable lines;
    std::vector<std::pair<std::uint64_t, LineRow>> sorted;
    std::vector<std::size_t> orig;
    std::unique_ptr<UnitReader> last;
    const UnitReader& reader(const DwarfSections& s, std::uint64_t unit) {
      if (!last || last->offset() != unit) last = std::make_unique<UnitReader>(s, unit);
      return *last;
    }
  };

  explicit DwarfIndex(std::string path) : path_(std::move(path)) {}
  UnitData* load(Unit& u) { return load_with(u, warning_, scratch_); }
  // Thread-safe for distinct units (and distinct scratches): reads only the sections.
  UnitData* load_with(Unit& u, std::string& warning, Scratch& scratch);
  void parse(Unit& u, UnitData& d, Scratch& scratch);
  // Reads the scopes a lookup of `addr` in `u` (loaded) needs: the body of
  // the function it falls in, or every scope when it is in none.
  // Thread-safe for distinct units (and scratches). On corrupt DWARF the
  // unit is dropped and answers nothing, as if it had failed to load.
  void read_scopes_for(Unit& u, std::uint64_t addr, std::string& warning, Scratch& scratch);
  void fail(Unit& u, const Corrupt& e, std::string& warning) const;
  static std::uint64_t frames_in(const UnitData& d, std::uint64_t addr, bool inlines, std::vector<Frame>& out);
  void drop_pages();
  void count_unit_read();  // drops pages every kDropEvery calls

  // Pages of the parse-once sections (.debug_info, .debug_line, range
  // lists) are dropped every kDropEvery units parsed or whose function
  // bodies were read: they stay resident after parsing otherwise (~270 MB
  // peak RSS on a kernel at 128).
  static constexpr unsigned kDropEvery = 128;
  std::atomic<unsigned> reads_{0};
  void* image_ = nullptr;
  bool drop_pages_ = false;
  bool demangle_ = false;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> parse_once_;  // (offset, length) in the mapping

  DwarfSections sections_;
  std::string path_;
  std::vector<Unit> units_;             // units with code, in .debug_info order
  std::vector<std::uint64_t> starts_;  // every unit's header offset, sorted
  IntervalIndex unit_index_;
  std::string warning_;
  Scratch scratch_;  // this thread's (load())
};

}  // namespace xentt::sym::detail
