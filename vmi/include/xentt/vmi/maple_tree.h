// xentt/vmi/maple_tree.h: the entries of a Linux maple tree (lib/maple_tree.c,
// 6.1+): what mt_for_each() visits. The kernel keeps each process's VMAs in
// one (mm->mm_mt), indexed by address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

// One non-NULL entry and the index range [first, last] it covers.
struct MapleEntry {
  std::uint64_t first = 0, last = 0;
  std::uint64_t value = 0;  // the stored pointer (a vm_area_struct * for mm_mt)
};

// The entries of the maple tree at guest address `tree` (a struct
// maple_tree), in index order. A guest is not trusted: a node whose type
// is not a range node, a pivot that goes backwards or out of its parent's
// range, a tree deeper than the kernel's MAPLE_HEIGHT_MAX (31) or more
// than `max_nodes` nodes end the walk with BadInput naming the node; an
// unreadable node throws read_for's BadInput. Cost: one 256-byte read per
// node (a process with 40 VMAs has 1-3 nodes).
std::vector<MapleEntry> maple_tree_entries(const EvalContext& cx, std::uint64_t tree, std::size_t max_nodes = 65536);

}  // namespace xentt::vmi
