// x86-64 registers by name, the same for every engine.
#include <catch2/catch_test_macros.hpp>

#include "xentt/vm/registers.h"
#include "unit_util.h"

using namespace xentt;
using namespace xentt::test;

TEST_CASE("registers have names, gdb's aliases too, and every name maps back") {
  for (Reg r : all_regs()) CHECK(reg_by_name(reg_name(r)) == r);
  CHECK(all_regs().size() == kRegCount);
  CHECK(reg_by_name("eflags") == Reg::rflags);
  CHECK(reg_by_name("k_gs_base") == Reg::kernel_gs_base);
  CHECK(reg_name(Reg::cr3) == "cr3");
  CHECK_FALSE(reg_by_name("xmm0"));
  CHECK_FALSE(reg_by_name(""));
}

TEST_CASE("a register the engine did not read is absent, and at() says which") {
  Registers r;
  CHECK_FALSE(r.has(Reg::rip));
  CHECK(message_of([&] { (void)r.rip(); }).find("register rip") != std::string::npos);
  r.set(Reg::rip, 0x1000);
  CHECK(r.rip() == 0x1000);
  Registers same = r;
  CHECK(same == r);
  same.set(Reg::rax, 0);  // present as zero differs from absent
  CHECK_FALSE(same == r);
}
