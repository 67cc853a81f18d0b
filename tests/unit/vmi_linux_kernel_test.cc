// The Linux views (linux_tasks.h, linux_dmesg.h, linux_modules.h) and the
// KASLR finder (kaslr.h) over a real kernel's DWARF and its own
// initialized data, read from the vmlinux file (types_util.h): the kernel
// as linked, before it ran: init_task alone, an empty static printk ring,
// no modules. The image can be placed at a slide, as KASLR does, for the
// finder to find. Runs where Debian's -dbg package is installed
// (/usr/lib/debug/boot/vmlinux-*), skipped elsewhere.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <filesystem>

#include "tests/unit/types_util.h"
#include "xentt/symbolize/debug_types.h"
#include "xentt/vmi/kaslr.h"
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
