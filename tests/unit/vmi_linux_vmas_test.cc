// A process's memory map (linux_vmas.h, maple_tree.h) over the real 6.1
// kernel's DWARF, with an mm, its maple tree, VMAs, a file and its
// dentries laid out by hand as the kernel lays them out (enodes with their
// type bits and MAPLE_ENODE_NULL, the root's MAPLE_ROOT_NODE), then
// garbage: what a hostile or half-written guest can hold. Runs where
// Debian's -dbg package is installed (/usr/lib/debug/boot/vmlinux-*).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <filesystem>

#include "tests/unit/vmi_region_memory.h"
#include "xentt/symbolize/debug_types.h"
#include "xentt/vmi/linux_vmas.h"
#include "xentt/vmi/maple_tree.h"

using namespace xentt;
using Catch::Matchers::ContainsSubstring;

namespace {

const sym::DebugTypes* kernel_types() {
  static std::unique_ptr<sym::DebugTypes> t = []() -> std::unique_ptr<sym::DebugTypes> {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/debug/boot", ec))
      if (e.path().filename().string().starts_with("vmlinux-")) return sym::DebugTypes::open(e.path().string());
    return nullptr;
  }();
  return t.get();
}

constexpr std::uint64_t kLeaf = 1, kArange = 3;        // enum maple_type
constexpr std::uint64_t kEnodeNull = 4, kRoot = 2;     // MAPLE_ENODE_NULL, MAPLE_ROOT_NODE

struct FakeMm {
  static constexpr std::uint64_t kMm = 0xffff888001000000ull, kNodes = 0xffff888002000000ull,
                                 kVmas = 0xffff888003000000ull, kFs = 0xffff888004000000ull;
  const sym::DebugTypes& t;
  test::RegionMemory mem;
  std::uint64_t tree;

  explicit FakeMm(const sym::DebugTypes& types) : t(types) {
    mem.region(kMm, t.type("struct mm_struct").size);
    mem.region(kNodes, 0x10000);
    mem.region(kVmas, 0x10000);
    mem.region(kFs, 0x10000);
    tree = kMm + off("struct mm_struct", "mm_mt");
  }
  std::uint64_t off(const char* type, const char* member) const { return t.member(&t.type(type), member).offset; }
  // Node k's address and its enode of `type`.
  static std::uint64_t node(int k) { return kNodes + 0x100 * static_cast<std::uint64_t>(k); }
  static std::uint64_t enode(int k, std::uint64_t type) { return node(k) | type << 3 | kEnodeNull; }
  void root(std::uint64_t enode) { mem.put64(tree + off("struct maple_tree", "ma_root"), enode | kRoot); }
  // Slot i of node k: its pivot (the last index it covers) and entry.
  void slot(int k, bool arange, int i, std::uint64_t pivot, std::uint64_t entry) {
    const char* type = arange ? "struct maple_arange_64" : "struct maple_range_64";
    std::size_t npiv = arange ? 9 : 15;
    if (static_cast<std::size_t>(i) < npiv) mem.put64(node(k) + off(type, "pivot") + 8 * i, pivot);
    mem.put64(node(k) + off(type, "slot") + 8 * i, entry);
  }
  std::uint64_t vma(int k, std::uint64_t start, std::uint64_t end, std::uint64_t flags, std::uint64_t file = 0) {
    std::uint64_t v = kVmas + 0x100 * static_cast<std::uint64_t>(k);
    mem.put64(v + off("struct vm_area_struct", "vm_start"), start);
    mem.put64(v + off("struct vm_area_struct", "vm_end"), end);
    mem.put64(v + off("struct vm_area_struct", "vm_flags"), flags);
    mem.put64(v + off("struct vm_area_struct", "vm_pgoff"), 2);
    mem.put64(v + off("struct vm_area_struct", "vm_file"), file);
    return v;
  }
  // A struct file for /lib/libc.so.6 on the root mount.
  std::uint64_t file() {
    std::uint64_t f = kFs, mount = kFs + 0x1000, root = kFs + 0x2000, lib = kFs + 0x3000, libc = kFs + 0x4000,
                  names = kFs + 0x5000;
    std::uint64_t vfsmnt = mount + off("struct mount", "mnt");
    mem.put64(mount + off("struct mount", "mnt_parent"), mount);
    mem.put64(vfsmnt + off("struct vfsmount", "mnt_root"), root);
    std::uint64_t path = off("struct file", "f_path");
    mem.put64(f + path + off("struct path", "mnt"), vfsmnt);
    mem.put64(f + path + off("struct path", "dentry"), libc);
    mem.put64(f + off("struct file", "f_inode"), 0xffff888009990000ull);
    std::uint64_t parent = off("struct dentry", "d_parent"),
                  name = off("struct dentry", "d_name") + off("struct qstr", "name");
    mem.put(names, "lib\0libc.so.6", 14);
    mem.put64(root + parent, root);
    mem.put64(lib + parent, root);
    mem.put64(lib + name, names);
    mem.put64(libc + parent, lib);
    mem.put64(libc + name, names + 4);
    return f;
  }
};

}  // namespace

TEST_CASE("VMAs from a two-level maple tree, a file's path up to the root", "[vmi][linux]") {
  const sym::DebugTypes* types = kernel_types();
  if (!types) SKIP("no /usr/lib/debug/boot/vmlinux-* (scripts/install-deps kernel-dbg)");
  FakeMm f(*types);
  vmi::EvalContext cx(*types, f.mem);
  // Root: an allocation-range node over two leaves, as mm trees are.
  f.root(FakeMm::enode(0, kArange));
  f.slot(0, true, 0, 0x55ffffffffffull, FakeMm::enode(1, kLeaf));
  f.slot(0, true, 1, ~0ull, FakeMm::enode(2, kLeaf));
  std::uint64_t file = f.file();
  std::uint64_t a = f.vma(0, 0x400000, 0x402000, 0x5);
  std::uint64_t b = f.vma(1, 0x7f0000000000ull, 0x7f0000003000ull, 0x5, file);
  f.slot(1, false, 0, 0x3fffff, 0);
  f.slot(1, false, 1, 0x401fff, a);
  f.slot(1, false, 2, 0x55ffffffffffull, 0);
  f.slot(2, false, 0, 0x7effffffffffull, 0);
  f.slot(2, false, 1, 0x7f0000002fffull, b);
  f.slot(2, false, 2, ~0ull, 0);

  auto entries = vmi::maple_tree_entries(cx, f.tree);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].first == 0x400000);
  CHECK(entries[0].last == 0x401fff);
  CHECK(entries[1].value == b);

  auto vmas = vmi::linux_vmas(cx, FakeMm::kMm);
  REQUIRE(vmas.size() == 2);
  CHECK(vmas[0].path.empty());
  CHECK(vmas[1].start == 0x7f0000000000ull);
  CHECK(vmas[1].pgoff == 2);
  CHECK(vmas[1].executable());
  CHECK(vmas[1].path == "/lib/libc.so.6");
  CHECK(vmas[1].inode == 0xffff888009990000ull);
}

TEST_CASE("a garbage maple tree or VMA is bad input naming the node, never a hang", "[vmi][linux]") {
  const sym::DebugTypes* types = kernel_types();
  if (!types) SKIP("no /usr/lib/debug/boot/vmlinux-* (scripts/install-deps kernel-dbg)");
  FakeMm f(*types);
  vmi::EvalContext cx(*types, f.mem);
  f.slot(1, false, 0, 0x3fffff, 0);
  f.slot(1, false, 1, 0x401fff, f.vma(0, 0x400000, 0x402000, 0x5));
  f.slot(1, false, 2, ~0ull, 0);

  f.root(FakeMm::node(1));  // type 0: a dense node, never in an mm
  CHECK_THROWS_WITH(vmi::maple_tree_entries(cx, f.tree), ContainsSubstring("not a range node"));

  f.root(FakeMm::enode(0, kArange));  // a node that is its own child
  f.slot(0, true, 0, ~0ull, FakeMm::enode(0, kArange));
  CHECK_THROWS_WITH(vmi::maple_tree_entries(cx, f.tree), ContainsSubstring("deeper than"));

  f.root(FakeMm::enode(1, kLeaf));  // pivots going backwards
  f.slot(1, false, 2, 0x1000, 0);
  f.slot(1, false, 3, ~0ull, 0);
  CHECK_THROWS_WITH(vmi::maple_tree_entries(cx, f.tree), ContainsSubstring("below the slot's start"));

  f.slot(1, false, 2, ~0ull, 0);  // a VMA that is not where the tree keeps it
  f.vma(0, 0x500000, 0x502000, 0x5);
  CHECK_THROWS_WITH(vmi::linux_vmas(cx, FakeMm::kMm), ContainsSubstring("its tree entry 0x400000-0x402000"));

  f.root(FakeMm::enode(0x200, kLeaf));  // a node outside readable memory
  CHECK_THROWS_WITH(vmi::maple_tree_entries(cx, f.tree), ContainsSubstring("not mapped"));
}
