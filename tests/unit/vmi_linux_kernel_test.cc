// The Linux views (linux_tasks.h, linux_dmesg.h, linux_modules.h) and the
// KASLR finder (kaslr.h) over a real kernel's DWARF and its own
// initialized data, read from the vmlinux file (types_util.h): the kernel
// as linked, before it ran: init_task alone, an empty static printk ring,
// no modules. The image can be placed at a slide, as KASLR does, for the
// finder to find. Runs where Debian's -dbg package is installed
// (/usr/lib/debug/boot/vmlinux-*), skipped elsewhere.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include <fmt/format.h>

#include "tests/unit/types_util.h"
#include "tests/unit/vmi_region_memory.h"
#include "xentt/symbolize/debug_types.h"
#include "xentt/vmi/kaslr.h"
#include "xentt/vmi/linux_module_maps.h"
#include "xentt/vmi/linux_dmesg.h"
#include "xentt/vmi/linux_modules.h"
#include "xentt/vmi/linux_tasks.h"

using namespace xentt;
using Catch::Matchers::ContainsSubstring;

namespace {

std::string find_vmlinux() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/debug/boot", ec))
    if (e.path().filename().string().starts_with("vmlinux-")) return e.path().string();
  return "";
}

const sym::DebugTypes* kernel_types() {
  static std::unique_ptr<sym::DebugTypes> t = [] {
    std::string p = find_vmlinux();
    return p.empty() ? nullptr : sym::DebugTypes::open(p);
  }();
  return t.get();
}

}  // namespace

TEST_CASE("linux views: the kernel as linked", "[vmi][linux]") {
  const sym::DebugTypes* types = kernel_types();
  if (!types) SKIP("no /usr/lib/debug/boot/vmlinux-* (scripts/install-deps kernel-dbg)");
  test::ElfSectionMemory memory(types->path());
  vmi::EvalContext cx(*types, memory);

  auto tasks = vmi::linux_tasks(cx, /*mark_running=*/false);  // current_task is per-CPU: not in the file
  REQUIRE(tasks.size() == 1);  // init_task's lists point to themselves
  CHECK(tasks[0].pid == 0);
  CHECK(tasks[0].tgid == 0);
  CHECK(tasks[0].comm == "swapper");  // INIT_TASK_COMM; the boot CPU renames it swapper/0
  CHECK(tasks[0].state == 'R');
  CHECK(tasks[0].kernel_thread);
  CHECK(tasks[0].address == types->variable("init_task").address);

  CHECK(vmi::kernel_log(cx).empty());     // the static ring: only its reusable initial descriptor
  CHECK(vmi::linux_modules(cx).empty());  // `modules` points to itself
}

TEST_CASE("kaslr: the slide of an image placed anywhere in 2 MiB steps", "[vmi][linux]") {
  const sym::DebugTypes* types = kernel_types();
  if (!types) SKIP("no /usr/lib/debug/boot/vmlinux-* (scripts/install-deps kernel-dbg)");
  for (std::uint64_t slide : {std::uint64_t{0}, std::uint64_t{0x3b600000}, std::uint64_t{0x200000},
                              -std::uint64_t{0x800000}}) {
    test::ElfSectionMemory memory(types->path(), slide);
    CHECK(vmi::find_kaslr_slide(*types, memory) == slide);
  }
  // Not 2 MiB-aligned: no kernel is placed so, and none is found.
  test::ElfSectionMemory odd(types->path(), 0x1000);
  CHECK_THROWS_WITH(vmi::find_kaslr_slide(*types, odd), ContainsSubstring("is not"));
}

TEST_CASE("linux views: a debug file that is no Linux kernel's", "[vmi][linux]") {
  std::string elf = XENTT_BINARY_DIR "/guest/demo.elf";
  if (!std::filesystem::exists(elf)) SKIP("no " + elf + " (the demo_guest target builds it)");
  auto types = sym::DebugTypes::open(elf);
  test::ElfSectionMemory memory(elf);
  vmi::EvalContext cx(*types, memory);
  CHECK_THROWS_WITH(vmi::linux_tasks(cx), ContainsSubstring("no init_task"));
  CHECK_THROWS_WITH(vmi::kernel_log(cx), ContainsSubstring("no printk ring buffer"));
  CHECK_THROWS_WITH(vmi::linux_modules(cx), ContainsSubstring("no 'modules' list"));
  CHECK_THROWS_WITH(vmi::find_kaslr_slide(*types, memory), ContainsSubstring("not an x86-64 Linux kernel"));
}

namespace {

// A guest's module list, laid out by the kernel's own DWARF: module i's
// struct at kMods + i * 0x10000, its sect_attrs, names and note after it.
struct FakeModules {
  static constexpr std::uint64_t kMods = 0xffffffffc1000000ull;
  const sym::DebugTypes& t;
  test::RegionMemory mem;
  std::uint64_t head, list_off;
  std::vector<std::uint64_t> mods;

  explicit FakeModules(const sym::DebugTypes& types) : t(types) {
    head = t.variable("modules").address;
    mem.region(head, 16);
    list_off = off("struct module", {"list"});
  }
  std::uint64_t off(const char* type, std::initializer_list<const char*> path) const {
    const sym::Type* ty = &t.type(type);
    std::uint64_t o = 0;
    for (const char* p : path) {
      sym::Member m = t.member(ty, p);
      o += m.offset;
      ty = m.type;
    }
    return o;
  }
  // A module with `sections` (name, address) and a build-id note, base
  // 0x...+0x1000.
  std::uint64_t add(const std::string& name, const std::vector<std::pair<std::string, std::uint64_t>>& sections) {
    std::uint64_t m = kMods + mods.size() * 0x10000;
    mem.region(m, 0x10000);
    mem.put(m + off("struct module", {"name"}), name.c_str(), name.size() + 1);
    mem.put64(m + off("struct module", {"core_layout", "base"}), m + 0x8000);
    mem.put32(m + off("struct module", {"core_layout", "size"}), 0x2000);
    std::uint64_t sa = m + 0x1000;
    mem.put64(m + off("struct module", {"sect_attrs"}), sa);
    mem.put32(sa + off("struct module_sect_attrs", {"nsections"}), static_cast<std::uint32_t>(sections.size()));
    std::uint64_t attrs = sa + off("struct module_sect_attrs", {"attrs"});
    std::uint64_t names = m + 0x6000;
    for (std::size_t i = 0; i < sections.size(); ++i) {
      std::uint64_t a = attrs + i * 72;  // sizeof(struct module_sect_attr) in 6.1
      mem.put64(a, names);
      mem.put64(a + 64, sections[i].second);
      mem.put(names, sections[i].first.c_str(), sections[i].first.size() + 1);
      names += sections[i].first.size() + 1;
    }
    // The build-id note at the module's base (where .note.gnu.build-id says).
    std::uint32_t note[3] = {4, 4, 3};
    mem.put(m + 0x8000, note, 12);
    mem.put(m + 0x800c, "GNU\0\xb7\x6f\x34\x8f", 8);
    mods.push_back(m);
    return m;
  }
  // Links the modules in order (the last back to the head).
  void link() {
    std::uint64_t prev = head;
    for (std::uint64_t m : mods) {
      mem.put64(prev == head ? head : prev + list_off, m + list_off);
      prev = m;
    }
    mem.put64(prev == head ? head : prev + list_off, head);
  }
};

}  // namespace

TEST_CASE("module sections and build-ids from a guest, garbage included", "[vmi][linux]") {
  const sym::DebugTypes* types = kernel_types();
  if (!types) SKIP("no /usr/lib/debug/boot/vmlinux-* (scripts/install-deps kernel-dbg)");
  FakeModules f(*types);
  REQUIRE(f.off("struct module_sect_attr", {"address"}) == 64);  // what add() writes
  std::uint64_t good = f.add("virtio_net", {{".text", 0xffffffffc1008000ull}, {".note.gnu.build-id", 0xffffffffc1008000ull}});
  std::uint64_t huge = f.add("huge", {{".text", 1}});
  f.mem.put32(huge + 0x1000 + f.off("struct module_sect_attrs", {"nsections"}), 0xffffffffu);
  std::uint64_t nowhere = f.add("nowhere", {});
  f.mem.put64(nowhere + f.off("struct module", {"sect_attrs"}), 0xdead000000000000ull);
  std::uint64_t names = f.add("names", {{".text", 0x10}, {".data", 0x20}, {"bad name", 0x30}});
  f.mem.put64(names + 0x1000 + f.off("struct module_sect_attrs", {"attrs"}) + 72, 0x1234);  // .data's name: unmapped
  std::uint64_t note = f.add("note", {{".text", 0x10}, {".note.gnu.build-id", 0x40}});
  f.link();
  vmi::EvalContext cx(*types, f.mem);
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };

  auto ms = vmi::linux_module_symbols(cx, warn);
  REQUIRE(ms.size() == 5);
  CHECK(ms[0].module.name == "virtio_net");
  CHECK(ms[0].module.address == good);
  REQUIRE(ms[0].module.core.size() == 1);
  CHECK(ms[0].module.core[0] == std::pair<std::uint64_t, std::uint64_t>{good + 0x8000, good + 0xa000});
  REQUIRE(ms[0].sections.size() == 2);
  CHECK(ms[0].sections[0] == std::pair<std::string, std::uint64_t>{".text", 0xffffffffc1008000ull});
  CHECK(ms[0].build_id == std::string("\xb7\x6f\x34\x8f", 4));
  CHECK(ms[1].sections.empty());  // 4294967295 sections: garbage
  CHECK(ms[2].sections.empty());  // sect_attrs unreadable
  REQUIRE(ms[3].sections.size() == 1);  // .data's name unreadable, "bad name" no section name
  CHECK(ms[3].sections[0].first == ".text");
  CHECK(ms[4].build_id.empty());  // 0x40: no note there
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  CHECK_THAT(all, ContainsSubstring("module huge") && ContainsSubstring("4294967295"));
  CHECK_THAT(all, ContainsSubstring("module nowhere") && ContainsSubstring("0xdead0000000000"));
  CHECK_THAT(all, ContainsSubstring("module names") && ContainsSubstring("2 of its 3 section names"));
  CHECK_THAT(all, ContainsSubstring("module note: its .note.gnu.build-id at 0x40"));
  CHECK(warnings.size() == 4);

  // A list that loops back past the head, and one whose link is NULL: the
  // modules before the break, a warning naming the break.
  f.mem.put64(note + f.list_off, huge + f.list_off);
  warnings.clear();
  ms = vmi::linux_module_symbols(cx, warn);
  CHECK(ms.size() == 5);
  CHECK_THAT(warnings.front(), ContainsSubstring("broken after 5 modules") && ContainsSubstring("cycle"));
  f.mem.put64(names + f.list_off, 0);
  warnings.clear();
  ms = vmi::linux_module_symbols(cx, warn);
  CHECK(ms.size() == 4);
  CHECK_THAT(warnings.front(), ContainsSubstring("NULL"));

  // Fuzz-ish: any bytes in the modules' structs and attributes give
  // answers and warnings, never a throw, a hang or a crash.
  f.link();
  std::mt19937_64 rng(17);
  for (int round = 0; round < 300; ++round) {
    FakeModules g = f;
    for (auto& [at, bytes] : g.mem.regions) {
      if (at == g.head) continue;
      for (int k = 0; k < 40; ++k) {
        std::size_t i = rng() % (bytes.size() - 8);
        // Mostly small values and pointers back into the fake guest.
        std::uint64_t v = rng() % 3 == 0 ? rng() : rng() % 2 ? FakeModules::kMods + rng() % 0x50000 : rng() % 256;
        std::memcpy(bytes.data() + i, &v, rng() % 2 ? 8 : 1);
      }
    }
    vmi::EvalContext gx(*types, g.mem);
    CHECK_NOTHROW(vmi::linux_module_symbols(gx, [](const std::string&) {}));
  }
}
