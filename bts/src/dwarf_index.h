// dwarf_index.h (internal): lazy per-compile-unit line and inline index.
//
// At open: one pass over the unit headers, reading only each unit DIE's
// address ranges (DW_AT_low_pc/high_pc/ranges) into a range index. On the
// first lookup in a unit: its line table is flattened into a sorted array
// of address -> (file, line, column) rows, and its subprograms and inlined
// subroutines become nested ranges (innermost wins) pointing at scope nodes
// that know their parent, name and call site. libdw does the parsing; the
// lookups never call it.
#pragma once

#include <elfutils/libdw.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bts/symbols.h"
#include "interval_index.h"

namespace bts::detail {

class DwarfIndex {
 public:
  // nullptr when the ELF has no DWARF. Throws bad_input when the DWARF is
  // present but its unit headers are corrupt (naming `path` and the offset).
  // `map`/`map_len`: the file's private mapping (null for memory images),
  // whose clean pages may be dropped after parsing (see recycle()).
  static std::unique_ptr<DwarfIndex> open(Elf* elf, const std::string& path, void* map = nullptr,
                                          std::size_t map_len = 0);
  ~DwarfIndex();

  // Frames at addr, innermost first (see SymbolFile::frames_at). Returns
  // the outermost scope's entry address when its name is a plain
  // DW_AT_name (no linkage name in the DWARF, as for static C++ functions)
  // so the caller may prefer the symbol table's name; 0 otherwise.
  std::uint64_t frames_at(std::uint64_t addr, bool inlines, std::vector<Frame>& out);
  std::string take_warning() { return std::move(warning_); }
  std::size_t unit_count() const noexcept { return units_.size(); }

 private:
  static constexpr std::uint32_t kNoFile = ~0u;
  struct Row {                 // the address is in UnitData::row_addr
    std::uint32_t file;  // index into UnitData::files, or kNoFile
    std::uint32_t line;
    std::uint32_t column : 31;
    std::uint32_t end_seq : 1;
  };
  struct Scope {
    std::string_view name;  // in the mapped file (.debug_str); may be empty
    std::uint32_t call_file;  // inlined subroutines: the call site's file (UnitData::files), or kNoFile
    std::uint32_t call_line;
    std::uint32_t call_column;
    std::uint32_t parent;   // IntervalIndex::kNone for a subprogram
    bool linkage;           // name is a linkage name
    std::uint64_t entry;    // lowest address (for matching symbol names)
  };
  struct UnitData {
    std::vector<Row> rows;
    SortedAddresses row_addr;  // rows[i].addr, searched
    std::vector<Scope> scopes;
    IntervalIndex scope_index;
    std::vector<std::string_view> files;                // file names, by index
    std::vector<std::unique_ptr<std::string>> strings;  // their storage
  };
  struct Unit {
    Dwarf_Off die_offset;
    std::unique_ptr<UnitData> data;  // null until first use
    bool failed = false;
  };

  DwarfIndex(Dwarf* dw, std::string path) : dw_(dw), path_(std::move(path)) {}
  UnitData* load(Unit& u);
  void walk(Dwarf_Die* die, std::uint32_t parent, std::uint32_t depth, UnitData& d,
            Dwarf_Files* files, std::size_t nfiles, int level, std::vector<const char*>& call_files);
  void recycle();

  static constexpr int kRecycleEvery = 128;  // units between recycles: ~270 MB peak RSS on a kernel
  Elf* elf_ = nullptr;
  void* map_ = nullptr;
  std::size_t map_len_ = 0;
  bool drop_pages_ = false;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> parse_once_;  // (offset, length) in the mapping
  int loads_since_recycle_ = 0;

  Dwarf* dw_;
  std::string path_;
  std::vector<Unit> units_;
  IntervalIndex unit_index_;
  std::string warning_;
};

}  // namespace bts::detail
