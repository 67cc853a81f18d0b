#include "xentt/debug/x86_tdesc.h"

#include <fmt/format.h>

#include <array>

namespace xentt::debug {

namespace {

// The description. Register numbers (regnum) give the 'g' order, which is
// QEMU's (see the header); the features group them as gdb expects.
constexpr std::string_view kTargetXml = R"XML(
<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
  <architecture>i386:x86-64</architecture>
  <feature name="org.gnu.gdb.i386.core">
    <flags id="i386_eflags" size="4">
      <field name="CF" start="0" end="0"/>
      <field name="" start="1" end="1"/>
      <field name="PF" start="2" end="2"/>
      <field name="AF" start="4" end="4"/>
      <field name="ZF" start="6" end="6"/>
      <field name="SF" start="7" end="7"/>
      <field name="TF" start="8" end="8"/>
      <field name="IF" start="9" end="9"/>
      <field name="DF" start="10" end="10"/>
      <field name="OF" start="11" end="11"/>
      <field name="NT" start="14" end="14"/>
      <field name="RF" start="16" end="16"/>
      <field name="VM" start="17" end="17"/>
      <field name="AC" start="18" end="18"/>
      <field name="VIF" start="19" end="19"/>
      <field name="VIP" start="20" end="20"/>
      <field name="ID" start="21" end="21"/>
    </flags>
    <reg name="rax" bitsize="64" type="int64" regnum="0"/>
    <reg name="rbx" bitsize="64" type="int64" regnum="1"/>
    <reg name="rcx" bitsize="64" type="int64" regnum="2"/>
    <reg name="rdx" bitsize="64" type="int64" regnum="3"/>
    <reg name="rsi" bitsize="64" type="int64" regnum="4"/>
    <reg name="rdi" bitsize="64" type="int64" regnum="5"/>
    <reg name="rbp" bitsize="64" type="data_ptr" regnum="6"/>
    <reg name="rsp" bitsize="64" type="data_ptr" regnum="7"/>
    <reg name="r8" bitsize="64" type="int64" regnum="8"/>
    <reg name="r9" bitsize="64" type="int64" regnum="9"/>
    <reg name="r10" bitsize="64" type="int64" regnum="10"/>
    <reg name="r11" bitsize="64" type="int64" regnum="11"/>
    <reg name="r12" bitsize="64" type="int64" regnum="12"/>
    <reg name="r13" bitsize="64" type="int64" regnum="13"/>
    <reg name="r14" bitsize="64" type="int64" regnum="14"/>
    <reg name="r15" bitsize="64" type="int64" regnum="15"/>
    <reg name="rip" bitsize="64" type="code_ptr" regnum="16"/>
    <reg name="eflags" bitsize="32" type="i386_eflags" regnum="17"/>
    <reg name="cs" bitsize="32" type="int32" regnum="18"/>
    <reg name="ss" bitsize="32" type="int32" regnum="19"/>
    <reg name="ds" bitsize="32" type="int32" regnum="20"/>
    <reg name="es" bitsize="32" type="int32" regnum="21"/>
    <reg name="fs" bitsize="32" type="int32" regnum="22"/>
    <reg name="gs" bitsize="32" type="int32" regnum="23"/>
    <reg name="st0" bitsize="80" type="i387_ext" regnum="33"/>
    <reg name="st1" bitsize="80" type="i387_ext" regnum="34"/>
    <reg name="st2" bitsize="80" type="i387_ext" regnum="35"/>
    <reg name="st3" bitsize="80" type="i387_ext" regnum="36"/>
    <reg name="st4" bitsize="80" type="i387_ext" regnum="37"/>
    <reg name="st5" bitsize="80" type="i387_ext" regnum="38"/>
    <reg name="st6" bitsize="80" type="i387_ext" regnum="39"/>
    <reg name="st7" bitsize="80" type="i387_ext" regnum="40"/>
    <reg name="fctrl" bitsize="32" type="int" regnum="41" group="float"/>
    <reg name="fstat" bitsize="32" type="int" regnum="42" group="float"/>
    <reg name="ftag" bitsize="32" type="int" regnum="43" group="float"/>
    <reg name="fiseg" bitsize="32" type="int" regnum="44" group="float"/>
    <reg name="fioff" bitsize="32" type="int" regnum="45" group="float"/>
    <reg name="foseg" bitsize="32" type="int" regnum="46" group="float"/>
    <reg name="fooff" bitsize="32" type="int" regnum="47" group="float"/>
    <reg name="fop" bitsize="32" type="int" regnum="48" group="float"/>
  </feature>
  <feature name="org.gnu.gdb.i386.sse">
    <vector id="v4f" type="ieee_single" count="4"/>
    <vector id="v2d" type="ieee_double" count="2"/>
    <vector id="v16i8" type="int8" count="16"/>
    <vector id="v8i16" type="int16" count="8"/>
    <vector id="v4i32" type="int32" count="4"/>
    <vector id="v2i64" type="int64" count="2"/>
    <union id="vec128">
      <field name="v4_float" type="v4f"/>
      <field name="v2_double" type="v2d"/>
      <field name="v16_int8" type="v16i8"/>
      <field name="v8_int16" type="v8i16"/>
      <field name="v4_int32" type="v4i32"/>
      <field name="v2_int64" type="v2i64"/>
      <field name="uint128" type="uint128"/>
    </union>
    <flags id="i386_mxcsr" size="4">
      <field name="IE" start="0" end="0"/>
      <field name="DE" start="1" end="1"/>
      <field name="ZE" start="2" end="2"/>
      <field name="OE" start="3" end="3"/>
      <field name="UE" start="4" end="4"/>
      <field name="PE" start="5" end="5"/>
      <field name="DAZ" start="6" end="6"/>
      <field name="IM" start="7" end="7"/>
      <field name="DM" start="8" end="8"/>
      <field name="ZM" start="9" end="9"/>
      <field name="OM" start="10" end="10"/>
      <field name="UM" start="11" end="11"/>
      <field name="PM" start="12" end="12"/>
      <field name="FZ" start="15" end="15"/>
    </flags>
    <reg name="xmm0" bitsize="128" type="vec128" regnum="49"/>
    <reg name="xmm1" bitsize="128" type="vec128" regnum="50"/>
    <reg name="xmm2" bitsize="128" type="vec128" regnum="51"/>
    <reg name="xmm3" bitsize="128" type="vec128" regnum="52"/>
    <reg name="xmm4" bitsize="128" type="vec128" regnum="53"/>
    <reg name="xmm5" bitsize="128" type="vec128" regnum="54"/>
    <reg name="xmm6" bitsize="128" type="vec128" regnum="55"/>
    <reg name="xmm7" bitsize="128" type="vec128" regnum="56"/>
    <reg name="xmm8" bitsize="128" type="vec128" regnum="57"/>
    <reg name="xmm9" bitsize="128" type="vec128" regnum="58"/>
    <reg name="xmm10" bitsize="128" type="vec128" regnum="59"/>
    <reg name="xmm11" bitsize="128" type="vec128" regnum="60"/>
    <reg name="xmm12" bitsize="128" type="vec128" regnum="61"/>
    <reg name="xmm13" bitsize="128" type="vec128" regnum="62"/>
    <reg name="xmm14" bitsize="128" type="vec128" regnum="63"/>
    <reg name="xmm15" bitsize="128" type="vec128" regnum="64"/>
    <reg name="mxcsr" bitsize="32" type="i386_mxcsr" regnum="65" group="vector"/>
  </feature>
  <feature name="org.gnu.gdb.i386.segments">
    <reg name="fs_base" bitsize="64" type="int64" regnum="24"/>
    <reg name="gs_base" bitsize="64" type="int64" regnum="25"/>
  </feature>
  <feature name="org.xentt.x86.system">
    <reg name="k_gs_base" bitsize="64" type="int64" regnum="26" group="system"/>
    <reg name="cr0" bitsize="64" type="int64" regnum="27" group="system"/>
    <reg name="cr2" bitsize="64" type="int64" regnum="28" group="system"/>
    <reg name="cr3" bitsize="64" type="int64" regnum="29" group="system"/>
    <reg name="cr4" bitsize="64" type="int64" regnum="30" group="system"/>
    <reg name="cr8" bitsize="64" type="int64" regnum="31" group="system"/>
    <reg name="efer" bitsize="64" type="int64" regnum="32" group="system"/>
    <reg name="idtr_base" bitsize="64" type="int64" regnum="66" group="system"/>
    <reg name="idtr_limit" bitsize="32" type="int32" regnum="67" group="system"/>
    <reg name="gdtr_base" bitsize="64" type="int64" regnum="68" group="system"/>
    <reg name="gdtr_limit" bitsize="32" type="int32" regnum="69" group="system"/>
  </feature>
</target>
)XML";

struct Slot {
  std::string_view name;
  std::size_t bytes;
  std::optional<Reg> reg;  // nothing: x87/SSE state, read from Registers::extended in order
};

// Every register of kTargetXml, by register number.
constexpr Slot kSlots[] = {
    {"rax", 8, Reg::rax},
    {"rbx", 8, Reg::rbx},
    {"rcx", 8, Reg::rcx},
    {"rdx", 8, Reg::rdx},
    {"rsi", 8, Reg::rsi},
    {"rdi", 8, Reg::rdi},
    {"rbp", 8, Reg::rbp},
    {"rsp", 8, Reg::rsp},
    {"r8", 8, Reg::r8},
    {"r9", 8, Reg::r9},
    {"r10", 8, Reg::r10},
    {"r11", 8, Reg::r11},
    {"r12", 8, Reg::r12},
    {"r13", 8, Reg::r13},
    {"r14", 8, Reg::r14},
    {"r15", 8, Reg::r15},
    {"rip", 8, Reg::rip},
    {"eflags", 4, Reg::rflags},
    {"cs", 4, Reg::cs},
    {"ss", 4, Reg::ss},
    {"ds", 4, Reg::ds},
    {"es", 4, Reg::es},
    {"fs", 4, Reg::fs},
    {"gs", 4, Reg::gs},
    {"fs_base", 8, Reg::fs_base},
    {"gs_base", 8, Reg::gs_base},
    {"k_gs_base", 8, Reg::kernel_gs_base},
    {"cr0", 8, Reg::cr0},
    {"cr2", 8, Reg::cr2},
    {"cr3", 8, Reg::cr3},
    {"cr4", 8, Reg::cr4},
    {"cr8", 8, Reg::cr8},
    {"efer", 8, Reg::efer},
    {"st0", 10, std::nullopt},
    {"st1", 10, std::nullopt},
    {"st2", 10, std::nullopt},
    {"st3", 10, std::nullopt},
    {"st4", 10, std::nullopt},
    {"st5", 10, std::nullopt},
    {"st6", 10, std::nullopt},
    {"st7", 10, std::nullopt},
    {"fctrl", 4, std::nullopt},
    {"fstat", 4, std::nullopt},
    {"ftag", 4, std::nullopt},
    {"fiseg", 4, std::nullopt},
    {"fioff", 4, std::nullopt},
    {"foseg", 4, std::nullopt},
    {"fooff", 4, std::nullopt},
    {"fop", 4, std::nullopt},
    {"xmm0", 16, std::nullopt},
    {"xmm1", 16, std::nullopt},
    {"xmm2", 16, std::nullopt},
    {"xmm3", 16, std::nullopt},
    {"xmm4", 16, std::nullopt},
    {"xmm5", 16, std::nullopt},
    {"xmm6", 16, std::nullopt},
    {"xmm7", 16, std::nullopt},
    {"xmm8", 16, std::nullopt},
    {"xmm9", 16, std::nullopt},
    {"xmm10", 16, std::nullopt},
    {"xmm11", 16, std::nullopt},
    {"xmm12", 16, std::nullopt},
    {"xmm13", 16, std::nullopt},
    {"xmm14", 16, std::nullopt},
    {"xmm15", 16, std::nullopt},
    {"mxcsr", 4, std::nullopt},
    {"idtr_base", 8, Reg::idtr_base},
    {"idtr_limit", 4, Reg::idtr_limit},
    {"gdtr_base", 8, Reg::gdtr_base},
    {"gdtr_limit", 4, Reg::gdtr_limit},
};

std::string le_hex(std::uint64_t v, std::size_t bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes; i++) out += fmt::format("{:02x}", (v >> (8 * i)) & 0xff);
  return out;
}

// The hex of slot `n`; `ext_at` is where its x87/SSE bytes start in
// Registers::extended (hex digits), for slots without a Reg.
std::string encode_slot(const Registers& regs, const Slot& s, std::size_t ext_at) {
  if (s.reg) {
    auto v = regs.get(*s.reg);
    return v ? le_hex(*v, s.bytes) : std::string(2 * s.bytes, 'x');
  }
  if (regs.extended.size() >= ext_at + 2 * s.bytes) return regs.extended.substr(ext_at, 2 * s.bytes);
  return std::string(2 * s.bytes, 'x');
}

}  // namespace

std::optional<std::string_view> x86_64_target_xml(std::string_view annex) {
  if (annex == "target.xml") return kTargetXml.substr(1);  // past the raw string's first newline
  return std::nullopt;
}

std::size_t x86_64_register_count() { return std::size(kSlots); }

std::string encode_g_packet(const Registers& regs) {
  std::string out;
  std::size_t ext_at = 0;
  for (const Slot& s : kSlots) {
    out += encode_slot(regs, s, ext_at);
    if (!s.reg) ext_at += 2 * s.bytes;
  }
  return out;
}

std::optional<std::string> encode_register(const Registers& regs, std::size_t regnum) {
  if (regnum >= std::size(kSlots)) return std::nullopt;
  std::size_t ext_at = 0;
  for (std::size_t i = 0; i < regnum; i++)
    if (!kSlots[i].reg) ext_at += 2 * kSlots[i].bytes;
  return encode_slot(regs, kSlots[regnum], ext_at);
}

}  // namespace xentt::debug
