// Engine qemu reads registers through QEMU's gdbstub: the x86-64 'g' reply
// decodes into named registers (little-endian, at the offsets QEMU 10's
// target description gives), and 'P' writes one.
#include <catch2/catch_test_macros.hpp>
#include <cstdio>
#include <string>

#include "vm/qemu/gdb_remote.h"
#include "unit_util.h"

using namespace xentt;
using namespace xentt::qemu;
using namespace xentt::test;

namespace {
std::string le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; i++) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", static_cast<unsigned>((v >> (8 * i)) & 0xff));
    s += b;
  }
  return s;
}
}  // namespace

TEST_CASE("x86-64 registers decode from a gdb 'g' reply, little-endian") {
  std::string hex;
  for (uint64_t r = 0; r < 16; r++) hex += le(0x1111111111111111ull * r, 8);
  hex += le(0xffffffff81000123ull, 8);  // rip
  hex += le(0x246, 4);                  // eflags
  hex += le(0x10, 4);                   // cs; a stub may end anywhere after eflags
  Registers r = parse_x86_64_registers(hex);
  CHECK(r.get(Reg::rax) == 0);
  CHECK(r.get(Reg::rsp) == 0x7777777777777777ull);
  CHECK(r.get(Reg::r15) == 0xffffffffffffffffull);
  CHECK(r.rip() == 0xffffffff81000123ull);
  CHECK(r.get(Reg::rflags) == 0x246);
  CHECK(r.get(Reg::cs) == 0x10);
  CHECK_FALSE(r.has(Reg::ss));  // not in this reply: absent, not zero
  CHECK_FALSE(r.get(Reg::cr3));
  CHECK(r.extended.empty());
  CHECK_THROWS_AS(parse_x86_64_registers(hex.substr(0, 100)), Error);
  // A register the stub cannot read comes as "xx": one Error naming where,
  // not a stray std::invalid_argument.
  std::string unreadable = hex;
  unreadable.replace(16 * 16, 2, "xx");
  CHECK(message_of([&] { parse_x86_64_registers(unreadable); }).find("malformed at hex digit 256: 'xx'") !=
        std::string::npos);
}

TEST_CASE("a whole QEMU 10 'g' reply gives segments, bases, control registers, and the x87/SSE state") {
  std::string hex;
  for (uint64_t r = 0; r < 16; r++) hex += le(r, 8);
  hex += le(0x401000, 8) + le(0x202, 4);
  for (uint64_t sel : {0x10, 0x18, 0x18, 0x18, 0x0, 0x0}) hex += le(sel, 4);  // cs ss ds es fs gs
  hex += le(0x7000, 8) + le(0xffff888000000000ull, 8) + le(0x1234, 8);          // fs_base gs_base k_gs_base
  hex += le(0x80050033, 8) + le(0xdead, 8) + le(0x1000, 8) + le(0x3406f0, 8) + le(0, 8) + le(0xd01, 8);
  std::string fpu_sse(608 - 236, '\0');
  for (size_t i = 0; i < fpu_sse.size(); i++) fpu_sse[i] = char(i);
  std::string tail;
  for (unsigned char c : fpu_sse) tail += le(c, 1);
  hex += tail;
  REQUIRE(hex.size() == 2 * 608);
  Registers r = parse_x86_64_registers(hex);
  CHECK(r.get(Reg::ss) == 0x18);
  CHECK(r.get(Reg::fs_base) == 0x7000);
  CHECK(r.get(Reg::gs_base) == 0xffff888000000000ull);
  CHECK(r.get(Reg::kernel_gs_base) == 0x1234);
  CHECK(r.get(Reg::cr0) == 0x80050033);
  CHECK(r.get(Reg::cr2) == 0xdead);
  CHECK(r.get(Reg::cr3) == 0x1000);
  CHECK(r.get(Reg::cr4) == 0x3406f0);
  CHECK(r.get(Reg::efer) == 0xd01);
  CHECK_FALSE(r.has(Reg::idtr_base));  // QEMU's gdbstub has no idtr/gdtr
  CHECK(r.extended == tail);
  // Two stops are equal only when the x87/SSE state is equal too.
  Registers other = parse_x86_64_registers(hex.substr(0, hex.size() - 2) + "ff");
  CHECK_FALSE(other == r);
}

TEST_CASE("'P' requests write a register by its gdb number, in its own width") {
  CHECK(set_register_request(Reg::rax, 0x1122) == "P0=2211000000000000");
  CHECK(set_register_request(Reg::rip, 0x401000) == "P10=0010400000000000");
  CHECK(set_register_request(Reg::rflags, 0x202) == "P11=02020000");
  CHECK(set_register_request(Reg::cr3, 0x1000) == "P1d=0010000000000000");
  CHECK_FALSE(set_register_request(Reg::idtr_base, 0));
}
