// vm/xen/xen_registers.h: a vCPU's registers from what Xen hands out: a
// 64-bit PV vCPU's context (xc_vcpu_getcontext) or an HVM/PVH vCPU's CPU
// save record (xc_domain_hvm_getcontext_partial). Pure conversions, tested
// without Xen (tests/unit/xen_registers_test.cc).
#pragma once

#include "vm/xen/xen_c.h"
#include "xentt/vm/registers.h"

namespace xentt::xen {

// PV: CR3 is the kernel's page-table root (ctrlreg[3], a machine address);
// gs_base is the kernel's while the vCPU is in kernel mode (VGCF_in_kernel),
// the user's otherwise, kernel_gs_base the other one; EFER is LME|LMA|NXE|SCE
// (a PV vCPU has none; a 64-bit PV guest always runs so). No IDTR/GDTR.
Registers from_pv(const vcpu_guest_context_x86_64_t& c);
// HVM/PVH: every field of the save record we name; kernel_gs_base is the
// record's shadow_gs.
Registers from_hvm(const hvm_hw_cpu& c);

}  // namespace xentt::xen
