// dwarf_scopes.h (internal): a unit's code-bearing function scopes.
//
// Walks a unit's DIE tree once: every DW_TAG_subprogram and
// DW_TAG_inlined_subroutine with code becomes a scope node (name, parent,
// call site) and its address ranges go into an interval index (innermost,
// i.e. deepest inline, wins). Type DIEs are jumped over through
// DW_AT_sibling, and fixed-size DIEs with one addition, so the walk costs
// roughly the unit's top-level DIEs plus the functions' bodies (~0.1-0.3
// ms for a kernel unit).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "dwarf_unit.h"
#include "interval_index.h"

namespace bts::detail {

struct ScopeNode {
  static constexpr std::uint32_t kNoFile = ~0u;
  std::string_view name;    // in the mapped file (.debug_str); may be empty
  std::uint32_t call_file;  // inlined subroutines: the call site's file (line table index), or kNoFile
  std::uint32_t call_line;
  std::uint32_t call_column;
  std::uint32_t parent;     // IntervalIndex::kNone for a subprogram
  bool linkage;             // name is a linkage name
  std::uint64_t entry;      // lowest address (for matching symbol names)
};

// Adds the unit's scopes to `scopes` and their ranges to `index` (value:
// the scope's position; priority: its inline depth); `index` is left for
// the caller to build(). `unit_starts`: every unit's header offset in
// .debug_info, sorted, for names that refer into other units. Throws
// Corrupt on malformed data.
void read_scopes(const DwarfSections& s, const UnitReader& u, std::span<const std::uint64_t> unit_starts,
                 std::vector<ScopeNode>& scopes, IntervalIndex& index);

}  // namespace bts::detail
