// dwarf_lines.h (internal): a unit's line table (.debug_line, DWARF 2-5),
// read directly.
//
// Runs the line-number program once and hands back every row it emits,
// in program order, with the file table. Costs ~10 ns a row (a large
// kernel unit has 20-50k rows); libdw's dwarf_getsrclines does the same
// work plus a malloc and a qsort entry per row.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "dwarf_unit.h"

namespace xentt::sym::detail {

struct LineRow {
  std::uint32_t file;  // index into the file table (as DW_LNS_set_file numbers it)
  std::uint32_t line;
  std::uint32_t column : 31;
  std::uint32_t end_seq : 1;
};

// A file table entry. Its name as addr2line prints it: `name` when
// absolute or when `dir` is empty, else `dir` + "/" + `name` (the unit's
// comp dir is joined by the caller when that is still relative).
struct LineFile {
  std::string_view dir;
  std::string_view name;
};

struct LineTable {
  std::vector<std::pair<std::uint64_t, LineRow>> rows;  // (address, row), program order
  std::vector<LineFile> files;  // DWARF 5: from 0; DWARF 2-4: entry 0 is an unnamed placeholder
};

// Parses the line program at `offset` in .debug_line for unit `u` into
// `out` (cleared first). Throws Corrupt on malformed data.
void read_line_table(const DwarfSections& s, const UnitReader& u, std::uint64_t offset, LineTable& out);

// Puts a table's rows in lookup order: by address; at one address,
// end-of-sequence rows first (an address where one sequence ends and the
// next begins finds the new one), then program order (the last row wins,
// as in llvm-symbolizer and addr2line): the order of a stable sort, in
// O(n) when sequences do not overlap (the usual case: one sequence per
// code section, .text, .init.text, ...; a stable sort costs ~5x more and
// remains the fallback). `out` and `orig` are scratch space (kept by the
// caller, so their capacity is reused).
void sort_line_rows(std::vector<std::pair<std::uint64_t, LineRow>>& rows,
                    std::vector<std::pair<std::uint64_t, LineRow>>& out, std::vector<std::size_t>& orig);

}  // namespace xentt::sym::detail
