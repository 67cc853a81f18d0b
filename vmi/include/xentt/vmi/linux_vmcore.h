// xentt/vmi/linux_vmcore.h: what goes into a vmcore of a Linux guest so
// that crash(8) and drgn open it with the kernel's DWARF vmlinux: the
// VMCOREINFO text, the direct map's base for the RAM segments' virtual
// addresses, the kernel image's own view, one NT_PRSTATUS per vCPU.
#pragma once

#include <string>

#include "xentt/vmi/inspector.h"
#include "xentt/vmi/vmcore_writer.h"

namespace xentt::vmi {

// The VMCOREINFO of the guest's kernel. The kernel keeps its own
// (vmcoreinfo_data, made at boot when built with CONFIG_CRASH_CORE, as
// Debian's is): that text is taken as it is, since crash and drgn read
// what the kernel wrote there. Otherwise one is made from the DWARF and
// the guest's memory, with what crash and drgn need: OSRELEASE, PAGESIZE,
// SYMBOL(swapper_pg_dir), SYMBOL(init_uts_ns), SYMBOL(_stext),
// KERNELOFFSET, NUMBER(phys_base), NUMBER(pgtable_l5_enabled).
// Throws BadInput when the debug file is not a Linux kernel's (no
// init_uts_ns) or when its release does not match the guest's memory.
std::string linux_vmcoreinfo(Inspector& insp);

// The whole layout of a core of this instant: every RAM range of the
// target, direct-mapped at page_offset_base, the kernel image viewed at its
// virtual address, VMCOREINFO, and vCPU 0's registers. Throws BadInput
// when the target keeps no RAM file to lay out (engines without one),
// what linux_vmcoreinfo() throws.
VmcoreSpec linux_vmcore_spec(Inspector& insp);

}  // namespace xentt::vmi
