#include "xentt/vmi/maple_tree.h"

#include <fmt/format.h>

#include <array>

#include "xentt/base/error.h"

namespace xentt::vmi {

namespace {

// lib/maple_tree.c's encoding of a node pointer ("enode"): the node is
// 256-byte aligned; bits 3-6 hold its type; the root's carries
// MAPLE_ROOT_NODE (2), which makes it an xarray "internal" entry.
constexpr std::uint64_t kNodeMask = 255;
constexpr unsigned kTypeShift = 3;
constexpr std::uint64_t kTypeMask = 0x0f;
enum MapleType : unsigned { kDense = 0, kLeaf64 = 1, kRange64 = 2, kArange64 = 3 };
constexpr unsigned kHeightMax = 31;  // MAPLE_HEIGHT_MAX

bool is_node(std::uint64_t entry) { return (entry & 3) == 2 && entry > 4096; }  // xa_is_node(): the root's

// Where pivots and slots lie in a node of each layout, from the DWARF.
struct Layout {
  std::uint64_t node_size = 256;
  std::uint64_t r_pivot = 0, r_slot = 0, r_npivots = 0, r_nslots = 0;  // maple_range_64 (leaves too)
  std::uint64_t a_pivot = 0, a_slot = 0, a_npivots = 0, a_nslots = 0;  // maple_arange_64
};

std::uint64_t dim(const sym::Type* t) {
  const sym::Type* a = sym::strip(t);
  return a->dims.empty() ? 0 : a->dims[0];
}

Layout layout(const EvalContext& cx) {
  const sym::Type* r = &cx.types.type("struct maple_range_64");
  const sym::Type* a = &cx.types.type("struct maple_arange_64");
  Layout l;
  l.node_size = size_of(cx, &cx.types.type("struct maple_node"));
  sym::Member m = cx.types.member(r, "pivot");
  l.r_pivot = m.offset, l.r_npivots = dim(m.type);
  m = cx.types.member(r, "slot");
  l.r_slot = m.offset, l.r_nslots = dim(m.type);
  m = cx.types.member(a, "pivot");
  l.a_pivot = m.offset, l.a_npivots = dim(m.type);
  m = cx.types.member(a, "slot");
  l.a_slot = m.offset, l.a_nslots = dim(m.type);
  if (l.node_size > 1024 || l.r_pivot + 8 * l.r_npivots > l.node_size || l.r_slot + 8 * l.r_nslots > l.node_size ||
      l.a_pivot + 8 * l.a_npivots > l.node_size || l.a_slot + 8 * l.a_nslots > l.node_size || l.r_nslots == 0 ||
      l.a_nslots == 0)
    throw bad_input(fmt::format("{}: struct maple_node's layout is not one this reader knows", cx.types.path()));
  return l;
}

struct Walker {
  const EvalContext& cx;
  Layout l;
  std::uint64_t tree;
  std::size_t max_nodes, nodes = 0;
  std::vector<MapleEntry> out;

  std::uint64_t u64(const std::vector<std::byte>& b, std::uint64_t off) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(b[off + i]) << (8 * i);
    return v;
  }

  void walk(std::uint64_t enode, std::uint64_t min, std::uint64_t max, unsigned depth) {
    std::uint64_t node = enode & ~kNodeMask;
    unsigned type = static_cast<unsigned>((enode >> kTypeShift) & kTypeMask);
    std::string where = fmt::format("maple tree at {:#x}: node {:#x}", tree, node);
    if (depth > kHeightMax) throw bad_input(fmt::format("{}: deeper than {} levels (a loop?)", where, kHeightMax));
    if (++nodes > max_nodes) throw bad_input(fmt::format("{}: more than {} nodes", where, max_nodes));
    if (type != kLeaf64 && type != kRange64 && type != kArange64)
      throw bad_input(fmt::format("{}: node type {} is not a range node", where, type));
    std::vector<std::byte> b(l.node_size);
    read_for(cx, where, node, b);
    bool arange = type == kArange64;
    std::uint64_t pivot = arange ? l.a_pivot : l.r_pivot, slot = arange ? l.a_slot : l.r_slot;
    std::uint64_t npivots = arange ? l.a_npivots : l.r_npivots, nslots = arange ? l.a_nslots : l.r_nslots;
    std::uint64_t lo = min;
    for (std::uint64_t i = 0; i < nslots; ++i) {
      std::uint64_t hi = i < npivots ? u64(b, pivot + 8 * i) : max;
      if (i > 0 && hi == 0) break;  // unused pivots are 0: the data ended
      if (hi > max) hi = max;       // the last used pivot may hold the parent's max
      if (hi < lo)
        throw bad_input(fmt::format("{}: pivot {} ({:#x}) lies below the slot's start {:#x}", where, i, hi, lo));
      std::uint64_t v = u64(b, slot + 8 * i);
      if (type == kLeaf64) {
        if (v != 0 && (v & 3) == 0) out.push_back({lo, hi, v});  // pointers only: internal values are not entries
      } else if (v != 0) {  // a child's enode: node | type << 3 | MAPLE_ENODE_NULL (4)
        walk(v, lo, hi, depth + 1);
      }
      if (hi == max) break;
      lo = hi + 1;
    }
  }
};

}  // namespace

std::vector<MapleEntry> maple_tree_entries(const EvalContext& cx, std::uint64_t tree, std::size_t max_nodes) {
  if (!cx.types.find_type("struct maple_tree"))
    throw bad_input(fmt::format("{} has no struct maple_tree (a kernel older than 6.1)", cx.types.path()));
  sym::Member root_m = cx.types.member(&cx.types.type("struct maple_tree"), "ma_root");
  std::uint64_t root = read_u64_for(cx, fmt::format("maple tree at {:#x}: its root", tree), tree + root_m.offset);
  if (root == 0) return {};
  if (!is_node(root)) return {{0, 0, root}};  // a tree of one entry, at index 0
  Walker w{cx, layout(cx), tree, max_nodes, 0, {}};
  w.walk(root, 0, ~0ull, 1);
  return std::move(w.out);
}

}  // namespace xentt::vmi
