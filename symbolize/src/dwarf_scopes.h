// dwarf_scopes.h (internal): a unit's code-bearing function scopes.
//
// Walks a unit's DIE tree: every DW_TAG_subprogram and
// DW_TAG_inlined_subroutine with code becomes a scope node (name, parent,
// call site) and its address ranges go into an interval index (innermost,
// i.e. deepest inline, wins). Type DIEs are jumped over through
// DW_AT_sibling, and fixed-size DIEs with one addition. Most of a walk is
// spent in function bodies (parameters, variables, inlined calls: a kernel
// unit has ~300 scopes), so lookups walk only the top level first
// (read_functions: the subprograms, their bodies jumped over) and then the
// body of each function they land in (read_body).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "dwarf_unit.h"
#include "interval_index.h"

namespace xentt::sym::detail {

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
// Corrupt on malformed data. Costs ~0.3 ms for a kernel unit.
void read_scopes(const DwarfSections& s, const UnitReader& u, std::span<const std::uint64_t> unit_starts,
                 std::vector<ScopeNode>& scopes, IntervalIndex& index);

// The same for the unit's subprograms only, their bodies skipped (through
// DW_AT_sibling when present): for each node appended to `scopes`,
// `bodies` gets the .debug_info offset of its first child DIE (0: no
// children) for read_body(). Costs about a third of read_scopes().
void read_functions(const DwarfSections& s, const UnitReader& u, std::span<const std::uint64_t> unit_starts,
                    std::vector<ScopeNode>& scopes, std::vector<std::uint64_t>& bodies, IntervalIndex& index);

// The body of function scopes[fn], whose first child DIE is at `body`:
// its inlined subroutines (and any nested subprograms) are appended to
// `scopes` as read_scopes() would, their ranges added to `index`.
void read_body(const DwarfSections& s, const UnitReader& u, std::span<const std::uint64_t> unit_starts,
               std::uint32_t fn, std::uint64_t body, std::vector<ScopeNode>& scopes, IntervalIndex& index);

}  // namespace xentt::sym::detail
