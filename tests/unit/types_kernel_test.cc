// Typed reads against real kernels' and the demo guest's DWARF, reading
// their initialized data from the ELF files themselves (types_util.h).
// The vmlinux cases run where Debian's -dbg package is installed
// (/usr/lib/debug/boot/vmlinux-*) and are skipped elsewhere.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <vector>
#include <string>

#include "tests/unit/types_util.h"
#include "tests/unit/unit_util.h"
#include "xentt/symbolize/debug_types.h"
#include "xentt/vmi/list_walk.h"
#include "xentt/vmi/per_cpu.h"
#include "xentt/vmi/typed_value.h"
#include "xentt/vmi/value_printer.h"

using namespace xentt;
using Catch::Matchers::ContainsSubstring;

namespace {

std::string hex(std::uint64_t v) { return fmt::format("0x{:x}", v); }

std::string find_vmlinux() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/debug/boot", ec))
    if (e.path().filename().string().starts_with("vmlinux-")) return e.path().string();
  return "";
}

struct Kernel {
  std::string path;
  std::unique_ptr<sym::DebugTypes> types;
  std::unique_ptr<test::ElfSectionMemory> memory;
  std::unique_ptr<vmi::EvalContext> cx;
  double open_and_first_lookup_s = 0;
};

// Opened once for all cases: the first lookup indexes the whole kernel.
Kernel* kernel() {
  static Kernel* k = [] {
    auto* k = new Kernel;
    k->path = find_vmlinux();
    if (k->path.empty()) return k;
    auto t0 = std::chrono::steady_clock::now();
    k->types = sym::DebugTypes::open(k->path);
    k->types->variable("init_task");
    k->open_and_first_lookup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    k->memory = std::make_unique<test::ElfSectionMemory>(k->path);
    k->cx = std::make_unique<vmi::EvalContext>(*k->types, *k->memory);
    return k;
  }();
  return k;
}

std::string print(const vmi::EvalContext& cx, const std::string& e) { return vmi::format_value(cx, vmi::evaluate(cx, e)); }

}  // namespace

TEST_CASE("types: the demo guest's globals", "[types]") {
  std::string elf = XENTT_BINARY_DIR "/guest/demo.elf";
  if (!std::filesystem::exists(elf)) SKIP("no " + elf + " (the demo_guest target builds it)");
  auto types = sym::DebugTypes::open(elf);
  test::ElfSectionMemory memory(elf);
  vmi::EvalContext cx{*types, memory};
  // guest/main.c: struct params demo_params = {.ticks = 200, .work = 8192, .seed = 1, .hz = 1000};
  CHECK(print(cx, "demo_params") == "{ticks = 200, work = 8192, seed = 1, hz = 1000}");
  CHECK(print(cx, "demo_params.hz") == "1000");
  CHECK(print(cx, "demo_ticks") == "0");  // .bss until the guest runs
  CHECK(print(cx, "demo_rounds") == "{0, 0}");
  CHECK(vmi::evaluate(cx, "demo_ticks").type->c_name() == "volatile uint64_t");
  CHECK(vmi::value_json(cx, vmi::evaluate(cx, "demo_params"))["value"].dump() ==
        R"({"hz":1000,"seed":1,"ticks":200,"work":8192})");
  CHECK_THAT(test::message_of([&] { vmi::evaluate(cx, "demo_params.speed"); }),
             ContainsSubstring("'struct params' has no member 'speed'; it has ticks, work, seed, hz (4 members)"));
}

TEST_CASE("types: vmlinux: init_task, jiffies, per-CPU variables", "[types]") {
  Kernel* k = kernel();
  if (k->path.empty()) SKIP("no /usr/lib/debug/boot/vmlinux-* (install the kernel's -dbg package)");
  // "Seconds, not minutes": 1.3 s measured on a loaded 2-core machine.
  CHECK(k->open_and_first_lookup_s < 30);
  const auto& cx = *k->cx;
  std::uint64_t init_task = test::elf_symbol(k->path, "init_task");
  REQUIRE(init_task != 0);
  // The static initializer's name (INIT_TASK_COMM); "swapper/0" is set at boot.
  CHECK(print(cx, "init_task.comm") == "\"swapper\\000\\000\\000\\000\\000\\000\\000\\000\"");
  CHECK(vmi::value_json(cx, vmi::evaluate(cx, "init_task.comm"))["value"] == "swapper");
  CHECK(print(cx, "init_task.pid") == "0");
  CHECK(print(cx, "init_task.prio") == "120");       // MAX_PRIO - 20
  CHECK(print(cx, "init_task.flags") == "2097152");  // PF_KTHREAD
  // Debian's 6.1.0-56-cloud-amd64, as `gdb -batch -ex 'ptype/o struct
  // task_struct' vmlinux` shows it: tasks at 0x890, comm at 2976, 9728 bytes.
  const sym::Type& ts = k->types->type("struct task_struct");
  sym::Member tasks_member = k->types->member(&ts, "tasks");
  if (k->path.ends_with("vmlinux-6.1.0-56-cloud-amd64")) {
    CHECK(tasks_member.offset == 0x890);
    CHECK(k->types->member(&ts, "comm").offset == 2976);
    CHECK(ts.size == 9728);
  }
  // LIST_HEAD_INIT(init_task.tasks): the list points to itself.
  std::uint64_t tasks = init_task + tasks_member.offset;
  CHECK(print(cx, "&init_task.tasks") == "(struct list_head *) " + hex(tasks));
  CHECK(print(cx, "init_task.tasks.next") == "(struct list_head *) " + hex(tasks));
  CHECK(print(cx, "((struct task_struct *)" + hex(init_task) + ")->tasks.prev") == "(struct list_head *) " + hex(tasks));
  CHECK(vmi::walk_list(cx, tasks, "struct task_struct", "tasks").empty());
  // init_task.mm is NULL: kernel threads borrow an mm.
  CHECK(print(cx, "init_task.mm") == "(struct mm_struct *) 0x0");
  CHECK(test::message_of([&] { print(cx, "*init_task.mm"); }) == "*init_task.mm: guest-virtual address 0x0: not mapped");
  CHECK(test::message_of([&] { print(cx, "init_task.mm->pgd"); }).starts_with("init_task.mm->pgd: guest-virtual address 0x"));
  CHECK_THAT(test::message_of([&] { vmi::evaluate(cx, "init_task.nope"); }),
             ContainsSubstring("'struct task_struct' has no member 'nope'; it has "));

  // DWARF types linux_banner `const char []`: its ELF symbol's size gives the length.
  CHECK(print(cx, "linux_banner").starts_with("\"Linux version "));
  CHECK(print(cx, "linux_banner").ends_with("\"..."));  // longer than 200 characters
  // jiffies is a linker alias of jiffies_64: DWARF only declares it.
  auto jiffies = k->types->variable("jiffies");
  CHECK(jiffies.type->c_name() == "volatile long unsigned int");
  CHECK(jiffies.address == test::elf_symbol(k->path, "jiffies"));
  CHECK_FALSE(jiffies.per_cpu);
  // INITIAL_JIFFIES: (unsigned long)(unsigned int)(-300 * HZ), HZ = 250 in Debian's kernels.
  CHECK(print(cx, "jiffies") == "4294892296");
  // A per-CPU variable: an offset into .data..percpu.
  auto rq = k->types->variable("runqueues");
  CHECK(rq.per_cpu);
  CHECK(rq.type->c_name() == "struct rq");
  CHECK_THAT(test::message_of([&] { vmi::evaluate(cx, "runqueues.nr_running"); }),
             ContainsSubstring("'runqueues' is a per-CPU variable"));
  // Before boot, every __per_cpu_offset[N] is BOOT_PERCPU_OFFSET: __per_cpu_load.
  vmi::EvalContext cpu0(*k->types, *k->memory, 0, vmi::kernel_per_cpu_offset(cx, 0));
  CHECK(print(cpu0, "&runqueues") ==
        "(struct rq *) " + hex(test::elf_symbol(k->path, "__per_cpu_load") + test::elf_symbol(k->path, "runqueues")));
}

// gdb itself (a dependency of the tests): it takes 30 s to 2 minutes,
// with the machine's load, to load a vmlinux's DWARF. Offsets,
// and `print` of whole kernel structs (gdb's `<symbol+off>` after pointers
// removed: this layer does not look symbols up).
TEST_CASE("types: vmlinux: offsets and prints agree with gdb", "[types][slow]") {
  Kernel* k = kernel();
  if (k->path.empty()) SKIP("no /usr/lib/debug/boot/vmlinux-*");
  if (std::system("command -v gdb >/dev/null") != 0) SKIP("no gdb (scripts/install-deps installs it)");
  const std::vector<std::string> exprs = {"init_task.se", "init_task.comm", "*init_task.signal", "init_uts_ns.name",
                                          "init_task.real_cred->usage", "init_task.tasks", "init_task.rt",
                                          "init_task.cpus_mask", "init_task.thread", "jiffies_64"};
  std::string cmd = "gdb -batch -ex 'print/x (unsigned long)&((struct task_struct *)0)->tasks' -ex "
                    "'print sizeof(struct task_struct)'";
  for (const auto& e : exprs) cmd += " -ex 'print " + e + "'";
  std::FILE* p = ::popen((cmd + " " + k->path + " 2>/dev/null").c_str(), "r");
  REQUIRE(p);
  std::vector<std::string> lines;
  std::string line;
  for (int c; (c = std::fgetc(p)) != EOF;) {
    if (c != '\n') {
      line += static_cast<char>(c);
      continue;
    }
    lines.push_back(std::regex_replace(std::regex_replace(line, std::regex("^\\$[0-9]+ = "), ""),
                                       std::regex(" <[A-Za-z_0-9.+]+>"), ""));
    line.clear();
  }
  ::pclose(p);
  REQUIRE(lines.size() == exprs.size() + 2);
  const sym::Type& ts = k->types->type("struct task_struct");
  CHECK(lines[0] == fmt::format("0x{:x}", k->types->member(&ts, "tasks").offset));
  CHECK(lines[1] == std::to_string(ts.size));
  for (std::size_t i = 0; i < exprs.size(); ++i) {
    INFO(exprs[i]);
    CHECK(print(*k->cx, exprs[i]) == lines[i + 2]);
  }
}
