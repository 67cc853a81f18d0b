// Xen's vCPU records as our registers (vm/xen/xen_registers.h): every
// field lands in the register of its name, the PV GS bases swap with the
// vCPU's mode, CR3 is the kernel's root. Each field gets a value of its own,
// so a field read into the wrong register shows.
#include <catch2/catch_test_macros.hpp>

#include "vm/xen/xen_registers.h"

using namespace xentt;

TEST_CASE("a PV vCPU context becomes our registers", "[xen]") {
  vcpu_guest_context_x86_64_t c{};
  auto& u = c.user_regs;
  u.rax = 0x1001, u.rbx = 0x1002, u.rcx = 0x1003, u.rdx = 0x1004, u.rsi = 0x1005, u.rdi = 0x1006;
  u.rbp = 0x1007, u.rsp = 0x1008, u.r8 = 0x1009, u.r9 = 0x100a, u.r10 = 0x100b, u.r11 = 0x100c;
  u.r12 = 0x100d, u.r13 = 0x100e, u.r14 = 0x100f, u.r15 = 0x1010, u.rip = 0xffffffff81000123, u.rflags = 0x246;
  u.cs = 0xe033, u.ss = 0xe02b, u.ds = 0x11, u.es = 0x12, u.fs = 0x13, u.gs = 0x14;
  c.ctrlreg[0] = 0x80050033, c.ctrlreg[1] = 0x7777000, c.ctrlreg[2] = 0x5794a9, c.ctrlreg[3] = 0x12521e000;
  c.ctrlreg[4] = 0x50660;
  c.fs_base = 0x7f0000001000, c.gs_base_kernel = 0xffff888009800000, c.gs_base_user = 0x7f0000002000;
  c.flags = VGCF_in_kernel;
  Registers r = xen::from_pv(c);
  CHECK(r.get(Reg::rax) == 0x1001);
  CHECK(r.get(Reg::rbx) == 0x1002);
  CHECK(r.get(Reg::rcx) == 0x1003);
  CHECK(r.get(Reg::rdx) == 0x1004);
  CHECK(r.get(Reg::rsi) == 0x1005);
  CHECK(r.get(Reg::rdi) == 0x1006);
  CHECK(r.get(Reg::rbp) == 0x1007);
  CHECK(r.get(Reg::rsp) == 0x1008);
  CHECK(r.get(Reg::r8) == 0x1009);
  CHECK(r.get(Reg::r9) == 0x100a);
  CHECK(r.get(Reg::r10) == 0x100b);
  CHECK(r.get(Reg::r11) == 0x100c);
  CHECK(r.get(Reg::r12) == 0x100d);
  CHECK(r.get(Reg::r13) == 0x100e);
  CHECK(r.get(Reg::r14) == 0x100f);
  CHECK(r.get(Reg::r15) == 0x1010);
  CHECK(r.get(Reg::rip) == 0xffffffff81000123);
  CHECK(r.get(Reg::rflags) == 0x246);
  CHECK(r.get(Reg::cs) == 0xe033);
  CHECK(r.get(Reg::ss) == 0xe02b);
  CHECK(r.get(Reg::ds) == 0x11);
  CHECK(r.get(Reg::es) == 0x12);
  CHECK(r.get(Reg::fs) == 0x13);
  CHECK(r.get(Reg::gs) == 0x14);
  CHECK(r.get(Reg::cr0) == 0x80050033);
  CHECK(r.get(Reg::cr2) == 0x5794a9);
  CHECK(r.get(Reg::cr3) == 0x12521e000);  // the kernel's root, not the user's (ctrlreg[1])
  CHECK(r.get(Reg::cr4) == 0x50660);
  CHECK(r.get(Reg::efer) == 0xd01);
  CHECK(r.get(Reg::fs_base) == 0x7f0000001000);
  CHECK(r.get(Reg::gs_base) == 0xffff888009800000);
  CHECK(r.get(Reg::kernel_gs_base) == 0x7f0000002000);
  CHECK_FALSE(r.has(Reg::idtr_base));

  c.flags = 0;  // in user mode the user's GS base is the one in use
  Registers ur = xen::from_pv(c);
  CHECK(ur.get(Reg::gs_base) == 0x7f0000002000);
  CHECK(ur.get(Reg::kernel_gs_base) == 0xffff888009800000);
}

TEST_CASE("an HVM/PVH CPU save record becomes our registers", "[xen]") {
  hvm_hw_cpu c{};
  c.rax = 0x2001, c.rbx = 0x2002, c.rcx = 0x2003, c.rdx = 0x2004, c.rsi = 0x2005, c.rdi = 0x2006;
  c.rbp = 0x2007, c.rsp = 0x2008, c.r8 = 0x2009, c.r9 = 0x200a, c.r10 = 0x200b, c.r11 = 0x200c;
  c.r12 = 0x200d, c.r13 = 0x200e, c.r14 = 0x200f, c.r15 = 0x2010, c.rip = 0xffffffff81000456, c.rflags = 0x202;
  c.cs_sel = 0x10, c.ss_sel = 0x18, c.ds_sel = 0x21, c.es_sel = 0x22, c.fs_sel = 0x23, c.gs_sel = 0x24;
  c.fs_base = 0x7f0000003000, c.gs_base = 0xffff88800a000000, c.shadow_gs = 0x7f0000004000;
  c.cr0 = 0x80050033, c.cr2 = 0x1234, c.cr3 = 0x3000, c.cr4 = 0x3506f0, c.msr_efer = 0xd01;
  c.idtr_base = 0xfffffe0000000000, c.idtr_limit = 0xfff, c.gdtr_base = 0xfffffe0000001000, c.gdtr_limit = 0x7f;
  Registers r = xen::from_hvm(c);
  CHECK(r.get(Reg::rax) == 0x2001);
  CHECK(r.get(Reg::rdi) == 0x2006);
  CHECK(r.get(Reg::rbp) == 0x2007);
  CHECK(r.get(Reg::rsp) == 0x2008);
  CHECK(r.get(Reg::r8) == 0x2009);
  CHECK(r.get(Reg::r15) == 0x2010);
  CHECK(r.get(Reg::rip) == 0xffffffff81000456);
  CHECK(r.get(Reg::rflags) == 0x202);
  CHECK(r.get(Reg::cs) == 0x10);
  CHECK(r.get(Reg::ss) == 0x18);
  CHECK(r.get(Reg::ds) == 0x21);
  CHECK(r.get(Reg::es) == 0x22);
  CHECK(r.get(Reg::fs) == 0x23);
  CHECK(r.get(Reg::gs) == 0x24);
  CHECK(r.get(Reg::fs_base) == 0x7f0000003000);
  CHECK(r.get(Reg::gs_base) == 0xffff88800a000000);
  CHECK(r.get(Reg::kernel_gs_base) == 0x7f0000004000);
  CHECK(r.get(Reg::cr0) == 0x80050033);
  CHECK(r.get(Reg::cr2) == 0x1234);
  CHECK(r.get(Reg::cr3) == 0x3000);
  CHECK(r.get(Reg::cr4) == 0x3506f0);
  CHECK(r.get(Reg::efer) == 0xd01);
  CHECK(r.get(Reg::idtr_base) == 0xfffffe0000000000);
  CHECK(r.get(Reg::idtr_limit) == 0xfff);
  CHECK(r.get(Reg::gdtr_base) == 0xfffffe0000001000);
  CHECK(r.get(Reg::gdtr_limit) == 0x7f);
}
