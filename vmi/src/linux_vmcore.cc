#include "xentt/vmi/linux_vmcore.h"

#include <fmt/format.h>

#include <cctype>

#include "xentt/base/error.h"
#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

namespace {

bool plausible_release(const std::string& r) {
  if (r.empty() || r.size() > 64 || !std::isdigit(static_cast<unsigned char>(r[0]))) return false;
  for (char c : r)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  return r.find('.') != std::string::npos;
}

}  // namespace

std::string linux_vmcoreinfo(Inspector& insp) {
  const sym::DebugTypes& types = insp.types();
  const AddressSpace& vm = insp.kernel_space();
  EvalContext cx = insp.kernel_context();
  auto uts = types.find_variable("init_uts_ns");
  if (!uts)
    throw bad_input(types.path() + " is not a Linux kernel's debug file (no init_uts_ns): give the guest's vmlinux with --vmlinux");
  Value rel = evaluate(cx, "init_uts_ns.name.release");
  std::string release = rel.address ? read_c_string(cx, rel.expr, *rel.address, 65) : "";
  if (!plausible_release(release))
    throw bad_input(fmt::format("{} does not match the guest's kernel: init_uts_ns.name.release reads '{}' (give the "
                                "vmlinux of the kernel the guest runs, and --kaslr-offset if it is randomized)",
                                types.path(), excerpt(release, 40)));

  // The kernel's own, when it made one.
  if (types.find_variable("vmcoreinfo_data") && types.find_variable("vmcoreinfo_size")) {
    std::uint64_t data = evaluate_scalar(cx, "vmcoreinfo_data");
    std::uint64_t size = evaluate_scalar(cx, "vmcoreinfo_size");
    if (data && size && size <= (1u << 20)) {
      std::string text = vm.read_bytes(data, size);
      if (text.find("OSRELEASE=" + release + "\n") != std::string::npos) return text;
    }
  }

  // Made here: what crash and drgn cannot do without.
  std::string t = fmt::format("OSRELEASE={}\nPAGESIZE=4096\n", release);
  auto sym = [&](const char* name, const char* as) {
    if (auto v = types.find_variable(name)) t += fmt::format("SYMBOL({})={:x}\n", as, v->address + insp.kaslr_slide());
  };
  sym("init_uts_ns", "init_uts_ns");
  sym("init_top_pgt", "swapper_pg_dir");  // x86-64's swapper_pg_dir is init_top_pgt
  t += fmt::format("SYMBOL(_stext)={:x}\n", insp.address_of("_stext"));
  if (types.find_variable("phys_base"))
    t += fmt::format("NUMBER(phys_base)={}\n", static_cast<std::int64_t>(evaluate_scalar(cx, "phys_base")));
  t += fmt::format("NUMBER(pgtable_l5_enabled)={}\n", vm.paging().mode == PagingMode::Long5 ? 1 : 0);
  t += fmt::format("KERNELOFFSET={:x}\n", insp.kaslr_slide());
  return t;
}

VmcoreSpec linux_vmcore_spec(Inspector& insp) {
  VmcoreSpec spec;
  spec.ram = insp.target().ram_ranges();
  if (spec.ram.empty()) throw bad_input("engine " + insp.target().engine() + " tells no RAM ranges to write a vmcore of");
  spec.vmcoreinfo = linux_vmcoreinfo(insp);
  const sym::DebugTypes& types = insp.types();
  EvalContext cx = insp.kernel_context();
  // Where the direct map starts (randomized with KASLR: page_offset_base).
  spec.direct_map_base = types.find_variable("page_offset_base")
                             ? evaluate_scalar(cx, "page_offset_base")
                             : 0xffff888000000000ull;
  // The kernel image at its own virtual address, as kdump lays it out: how
  // crash finds phys_base.
  std::uint64_t text = insp.address_of("_text"), end = insp.address_of("_end");
  auto first = insp.kernel_space().translate(text);
  auto last = end > text ? insp.kernel_space().translate(end - 1) : std::nullopt;
  // In RAM's numbering (a PV guest's walk answers machine addresses).
  std::optional<std::uint64_t> first_ram, last_ram;
  if (first && last) first_ram = insp.target().ram_address_of(first->paddr), last_ram = insp.target().ram_address_of(last->paddr);
  if (first_ram && last_ram && *last_ram - *first_ram == end - 1 - text)
    spec.views.push_back({text, *first_ram, end - text});
  spec.vcpus.push_back(insp.registers(0));
  return spec;
}

}  // namespace xentt::vmi
