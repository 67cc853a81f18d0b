// vm/xen/xen_registers.cc: Xen's vCPU state records as our registers.
#include "vm/xen/xen_registers.h"

namespace xentt::xen {

namespace {
// The general registers, rip and rflags: the PV context's user_regs and
// the HVM save record name them alike.
template <class T>
void set_general(Registers& r, const T& s) {
  r.set(Reg::rax, s.rax), r.set(Reg::rbx, s.rbx), r.set(Reg::rcx, s.rcx), r.set(Reg::rdx, s.rdx);
  r.set(Reg::rsi, s.rsi), r.set(Reg::rdi, s.rdi), r.set(Reg::rbp, s.rbp), r.set(Reg::rsp, s.rsp);
  r.set(Reg::r8, s.r8), r.set(Reg::r9, s.r9), r.set(Reg::r10, s.r10), r.set(Reg::r11, s.r11);
  r.set(Reg::r12, s.r12), r.set(Reg::r13, s.r13), r.set(Reg::r14, s.r14), r.set(Reg::r15, s.r15);
  r.set(Reg::rip, s.rip), r.set(Reg::rflags, s.rflags);
}
}  // namespace

Registers from_pv(const vcpu_guest_context_x86_64_t& c) {
  Registers r;
  const auto& u = c.user_regs;
  set_general(r, u);
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
  set_general(r, c);
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
