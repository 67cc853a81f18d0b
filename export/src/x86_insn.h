// x86_insn.h: the length of one x86-64 instruction and, when it is a
// control transfer, what kind, decided from its bytes alone.
//
// The exports need both for traces that carry no branch kinds (.bts
// files): the kind of the instruction at a record's `from` tells a call
// from a jump, and lengths let a straight-line run between two records be
// counted in instructions and turned into basic blocks. Only 64-bit code
// is decoded (legacy, REX, VEX, EVEX and XOP prefixes, the one-, two- and
// three-byte maps, 3DNow!). The branch-trace plugin has its own classifier
// (vm/qemu/plugin/x86_branch.h), which gets the length from QEMU and so
// never needs this decoder.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xentt/tracefmt/trace_log.h"

namespace xentt::exports {

struct Insn {
  std::uint8_t length = 0;  // 0: not decodable (truncated, or more than 15 bytes)
  bool branch = false;      // a control transfer instruction (kind is meaningful)
  bool direct = false;      // its target is in the instruction (then `target` holds it)
  bool system = false;      // syscall/sysenter/sysret/sysexit (not int n / iret)
  xtl::BranchKind kind = xtl::BranchKind::Other;
  std::uint64_t target = 0;
};

// Decodes the instruction at `vaddr` whose bytes are b[0..avail). Cost: a
// few table lookups.
Insn decode_insn(const std::uint8_t* b, std::size_t avail, std::uint64_t vaddr) noexcept;

}  // namespace xentt::exports
