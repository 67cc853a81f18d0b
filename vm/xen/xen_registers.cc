// vm/xen/xen_registers.cc: Xen's vCPU state records as our registers.
#include "vm/xen/xen_registers.h"

namespace xentt::xen {

Registers from_pv(const vcpu_guest_context_x86_64_t& c) {
  Registers r;
  const auto& u = c.user_regs;
  r.set(Reg::rax, u.rax), r.set(Reg::rbx, u.rbx), r.set(Reg::rcx, u.rcx), r.set(Reg::rdx, u.rdx);
  r.set(Reg::rsi, u.rsi), r.set(Reg::rdi, u.rdi), r.set(Reg::rbp, u.rbp), r.set(Reg::rsp, u.rsp);
  r.set(Reg::r8, u.r8), r.set(Reg::r9, u.r9), r.set(Reg::r10, u.r10), r.set(Reg::r11, u.r11);
  r.set(Reg::r12, u.r12), r.set(Reg::r13, u.r13), r.set(Reg::r14, u.r14), r.set(Reg::r15, u.r15);
  r.set(Reg::rip, u.rip), r.set(Reg::rflags, u.rflags);
  r.set(Reg::cs, u.cs), r.set(Reg::ss, u.ss), r.set(Reg::ds, u.ds), r.set(Reg::es, u.es);
  r.set(Reg::fs, u.fs), r.set(Reg::gs, u.gs);
  // A 64-bit PV kernel and its user space keep two GS bases; the one in
  // use is the kernel's while the vCPU is in kernel mode.
  bool in_kernel = c.flags & VGCF_in_kernel;
  r.set(Reg::fs_base, c.fs_base);
  r.set(Reg::gs_base, in_kernel ? c.gs_base_kernel : c.gs_base_user);
  r.set(Reg::kernel_gs_base, in_kernel ? c.gs_base_user : c.gs_base_kernel);
  // ctrlreg[3] is the kernel's page-table root as a machine address (the
  // user's, ctrlreg[1], has no kernel mappings on 64-bit PV): the root
  // every kernel view walks.
  r.set(Reg::cr0, c.ctrlreg[0]), r.set(Reg::cr2, c.ctrlreg[2]), r.set(Reg::cr3, c.ctrlreg[3]);
  r.set(Reg::cr4, c.ctrlreg[4]);
  // PV vCPUs have no EFER of their own: Xen runs every 64-bit PV guest in
  // long mode with NX and SYSCALL (LME|LMA|NXE|SCE), which is what we say.
  r.set(Reg::efer, 0xd01);
  return r;
}

Registers from_hvm(const hvm_hw_cpu& c) {
  Registers r;
  r.set(Reg::rax, c.rax), r.set(Reg::rbx, c.rbx), r.set(Reg::rcx, c.rcx), r.set(Reg::rdx, c.rdx);
  r.set(Reg::rsi, c.rsi), r.set(Reg::rdi, c.rdi), r.set(Reg::rbp, c.rbp), r.set(Reg::rsp, c.rsp);
  r.set(Reg::r8, c.r8), r.set(Reg::r9, c.r9), r.set(Reg::r10, c.r10), r.set(Reg::r11, c.r11);
  r.set(Reg::r12, c.r12), r.set(Reg::r13, c.r13), r.set(Reg::r14, c.r14), r.set(Reg::r15, c.r15);
  r.set(Reg::rip, c.rip), r.set(Reg::rflags, c.rflags);
  r.set(Reg::cs, c.cs_sel), r.set(Reg::ss, c.ss_sel), r.set(Reg::ds, c.ds_sel), r.set(Reg::es, c.es_sel);
  r.set(Reg::fs, c.fs_sel), r.set(Reg::gs, c.gs_sel);
  r.set(Reg::fs_base, c.fs_base), r.set(Reg::gs_base, c.gs_base), r.set(Reg::kernel_gs_base, c.shadow_gs);
  r.set(Reg::cr0, c.cr0), r.set(Reg::cr2, c.cr2), r.set(Reg::cr3, c.cr3), r.set(Reg::cr4, c.cr4);
  r.set(Reg::efer, c.msr_efer);
  r.set(Reg::idtr_base, c.idtr_base), r.set(Reg::idtr_limit, c.idtr_limit);
  r.set(Reg::gdtr_base, c.gdtr_base), r.set(Reg::gdtr_limit, c.gdtr_limit);
  return r;
}


}  // namespace xentt::xen
