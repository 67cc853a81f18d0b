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
  // `image`/`image_len`: the whole file in memory (the private mapping of
  // the file, or a memory image), for opening a second handle on it (see
  // prefetch()); `mapped`: the image is a file mapping whose clean pages may
  // be dropped after parsing (see recycle()).
  static std::unique_ptr<DwarfIndex> open(Elf* elf, const std::string& path, void* image = nullptr,
                                          std::size_t image_len = 0, bool mapped = false);

  // Parses, on up to `threads` threads, every not yet parsed unit that one
  // of `addrs` falls in, so that the lookups that follow find them ready.
  // For batches (a block of tt_symbolize's input, of bts_dump's records):
  // units are independent, so two cores parse twice as many. The extra
  // thread uses its own libelf/libdw handles on the same image; nothing is
  // shared but the read-only image and distinct Unit slots.
  void prefetch(const std::uint64_t* addrs, std::size_t n, unsigned threads);
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

  // A libelf + libdw handle pair; units parsed through it stay valid after
  // it is recycled (they point only into the image and their own storage).
  struct Handle {
    Elf* elf = nullptr;   // owned only for auxiliary handles
    Dwarf* dw = nullptr;
    int loads = 0;        // units parsed since the last recycle
  };

  DwarfIndex(Dwarf* dw, std::string path) : path_(std::move(path)) { main_.dw = dw; }
  UnitData* load(Unit& u) { return load_with(u, main_, warning_); }
  UnitData* load_with(Unit& u, Handle& h, std::string& warning);
  void walk(Dwarf_Die* die, std::uint32_t parent, std::uint32_t depth, UnitData& d,
            Dwarf_Files* files, std::size_t nfiles, int level, std::vector<const char*>& call_files);
  void recycle(Handle& h);

  static constexpr int kRecycleEvery = 128;  // units between recycles: ~270 MB peak RSS on a kernel
  Handle main_;
  Handle aux_;  // the prefetch thread's, opened on first use, kept (see Handle)
  void* image_ = nullptr;
  std::size_t image_len_ = 0;
  bool native_ = false;  // little-endian ELF64 on a little-endian host: libelf converts nothing
  bool drop_pages_ = false;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> parse_once_;  // (offset, length) in the mapping


  std::string path_;
  std::vector<Unit> units_;
  IntervalIndex unit_index_;
  std::string warning_;
};

}  // namespace bts::detail
