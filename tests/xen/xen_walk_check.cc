// tests/xen/xen_walk_check: our page walk against Xen's own
// (xc_translate_foreign_address) on a live domU, run in the Xen lab's dom0.
//
//   xen_walk_check DOMAIN VMLINUX
//
// Pauses DOMAIN and translates, with both, addresses across the kernel's
// address space as vCPU 0 sees it: the kernel image every 64 KiB, the
// direct map every 1 MiB of the domain's frames (HVM/PVH) or of the first
// 256 MiB (PV), and each task's kernel stack (vmalloc'd). Prints one line
// per disagreement and a summary "walk-check DOMAIN: N addresses, M mapped,
// K disagree"; exit 0 when none disagree and some were mapped, else 1.
#include <fmt/format.h>

#include <cstdio>
#include <exception>

#include "vm/xen/xen_target.h"
#include "xentt/base/error.h"
#include "xentt/vmi/inspector.h"
#include "xentt/vmi/linux_tasks.h"

using namespace xentt;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: xen_walk_check DOMAIN VMLINUX\n");
    return 2;
  }
  try {
    xen::XenDomainTarget t(argv[1]);
    t.pause();
    vmi::InspectorOptions io;
    io.debug_file = argv[2];
    vmi::Inspector insp(t, io);
    std::vector<std::uint64_t> addrs;
    std::uint64_t text = insp.address_of("_text"), end = insp.address_of("_end");
    for (std::uint64_t a = text; a < end; a += 64 << 10) addrs.push_back(a + 0x123);
    vmi::EvalContext cx = insp.kernel_context();
    std::uint64_t pob = vmi::evaluate_scalar(cx, "page_offset_base");
    std::uint64_t ram = t.info().hvm ? t.info().pages << 12 : 256ull << 20;
    for (std::uint64_t pa = 0; pa < ram; pa += 1 << 20) addrs.push_back(pob + pa + 0x40);
    for (const auto& task : vmi::linux_tasks(cx, false)) {
      std::uint64_t stack =
          vmi::evaluate_scalar(cx, fmt::format("((struct task_struct *){:#x})->stack", task.address));
      addrs.push_back(stack + 0x10);
    }
    std::size_t mapped = 0, disagree = 0;
    for (std::uint64_t a : addrs) {
      auto ours = insp.translate(a);
      auto xens = t.xen_translate(a);
      std::optional<std::uint64_t> o;
      if (ours.mapping) o = ours.mapping->paddr;
      if (o) ++mapped;
      if (o != xens) {
        ++disagree;
        fmt::print("disagree {:#x}: ours {} xen {}\n", a, o ? fmt::format("{:#x}", *o) : "unmapped",
                   xens ? fmt::format("{:#x}", *xens) : "unmapped");
      }
    }
    t.resume();
    fmt::print("walk-check {}: {} addresses, {} mapped, {} disagree\n", argv[1], addrs.size(), mapped, disagree);
    return disagree == 0 && mapped > 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xen_walk_check: %s\n", e.what());
    return 1;
  }
}
