// x86_branch.h: what kind of control transfer one x86 instruction is,
// decided from its bytes at translation time (never at execution time).
//
// The plugin must decide "branch or not" from the instruction, not from
// addresses: a far jump whose target is its own fall-through is a taken
// branch BTS logs, and `rep movs` re-entering itself is not a branch at all.
// Only what the branch-trace plugin needs is decoded: legacy and REX
// prefixes, the opcode, ModRM.reg of group 5, and rel8/rel16/rel32
// displacements. The instruction's length comes from QEMU, which resolves
// the mode-dependent ambiguities (0x40-0x4f is REX only when more bytes
// follow).
#pragma once

#include <cstddef>
#include <cstdint>

#include "xentt/tracefmt/trace_log.h"

namespace xentt::bt {

enum class Flow : std::uint8_t {
  None,          // falls through (or faults): not a branch
  Cond,          // jcc/loop/jcxz: taken or not, target known
  Direct,        // jmp/call rel: always taken, target known
  Indirect,      // ret, jmp/call through reg/mem, far transfers, int n, syscall, iret: always taken, target unknown
  RepString,     // rep-prefixed string op: re-executes itself per iteration, not a branch
};

struct InsnFlow {
  Flow flow = Flow::None;
  xtl::BranchKind kind = xtl::BranchKind::Other;  // meaningful when flow is Cond/Direct/Indirect
  std::uint64_t target = 0;                          // Cond/Direct only
};

// `bytes`/`size`: the whole instruction as QEMU decoded it; `vaddr`: where it
// sits. Cost: a few compares.
InsnFlow classify_insn(const std::uint8_t* bytes, std::size_t size, std::uint64_t vaddr) noexcept;

}  // namespace xentt::bt
