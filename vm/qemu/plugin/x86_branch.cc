#include "x86_branch.h"

namespace xentt::bt {
namespace {

using xtl::BranchKind;

bool is_legacy_prefix(std::uint8_t b) {
  switch (b) {
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
    case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65:
      return true;
    default:
      return false;
  }
}

bool is_string_op(std::uint8_t op) {
  return (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) || (op >= 0x6c && op <= 0x6f);
}

// The displacement is the instruction's last `width` bytes (no immediate
// follows a relative branch), sign-extended.
std::int64_t rel_at_end(const std::uint8_t* b, std::size_t size, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= std::uint64_t(b[size - width + i]) << (8 * i);
  unsigned shift = 64 - 8 * unsigned(width);
  return std::int64_t(v << shift) >> shift;
}

InsnFlow relative(Flow f, BranchKind k, const std::uint8_t* b, std::size_t size, std::size_t width,
                  std::uint64_t vaddr) {
  if (width == 0 || width > size) return {Flow::Indirect, k, 0};
  std::uint64_t next = vaddr + size, target = next + std::uint64_t(rel_at_end(b, size, width));
  // A 16-bit displacement (16-bit code: firmware) wraps inside the code
  // segment; real-mode BIOS segments are 64 KiB aligned.
  if (width == 2) target = (next & ~0xffffull) | (target & 0xffff);
  return {f, k, target};
}

}  // namespace

InsnFlow classify_insn(const std::uint8_t* b, std::size_t size, std::uint64_t vaddr) noexcept {
  std::size_t i = 0;
  bool rep = false, opsize16 = false;
  while (i < size && is_legacy_prefix(b[i])) {
    rep |= b[i] == 0xf2 || b[i] == 0xf3;
    opsize16 |= b[i] == 0x66;
    ++i;
  }
  // REX only when the instruction goes on (a lone 0x4x is inc/dec in 32-bit code).
  if (i + 1 < size && (b[i] & 0xf0) == 0x40) ++i;
  if (i >= size) return {};
  const std::uint8_t op = b[i];
  const std::size_t rest = size - i - 1;  // bytes after the opcode byte
  (void)opsize16;
  if (op >= 0x70 && op <= 0x7f) return relative(Flow::Cond, BranchKind::CondJump, b, size, 1, vaddr);
  if (op >= 0xe0 && op <= 0xe3) return relative(Flow::Cond, BranchKind::CondJump, b, size, 1, vaddr);
  switch (op) {
    case 0xeb: return relative(Flow::Direct, BranchKind::Jump, b, size, 1, vaddr);
    case 0xe9: return relative(Flow::Direct, BranchKind::Jump, b, size, rest, vaddr);
    case 0xe8: return relative(Flow::Direct, BranchKind::Call, b, size, rest, vaddr);
    case 0xea: return {Flow::Indirect, BranchKind::Jump, 0};  // far jmp ptr: target needs CS base
    case 0x9a: return {Flow::Indirect, BranchKind::Call, 0};
    case 0xc2: case 0xc3: case 0xca: case 0xcb: return {Flow::Indirect, BranchKind::Return, 0};
    case 0xcf: return {Flow::Indirect, BranchKind::EventReturn, 0};
    case 0xcc: case 0xcd: case 0xf1: return {Flow::Indirect, BranchKind::SoftInterrupt, 0};
    case 0xff: {
      if (rest == 0) return {};
      switch ((b[i + 1] >> 3) & 7) {
        case 2: case 3: return {Flow::Indirect, BranchKind::IndirectCall, 0};
        case 4: case 5: return {Flow::Indirect, BranchKind::IndirectJump, 0};
        default: return {};
      }
    }
    case 0x0f: {
      if (rest == 0) return {};
      const std::uint8_t op2 = b[i + 1];
      if (op2 >= 0x80 && op2 <= 0x8f) return relative(Flow::Cond, BranchKind::CondJump, b, size, rest - 1, vaddr);
      if (op2 == 0x05 || op2 == 0x34) return {Flow::Indirect, BranchKind::SoftInterrupt, 0};
      if (op2 == 0x07 || op2 == 0x35 || op2 == 0xaa) return {Flow::Indirect, BranchKind::EventReturn, 0};  // sysret, sysexit, rsm
      return {};
    }
    default:
      break;
  }
  if (rep && is_string_op(op)) return {Flow::RepString, BranchKind::Other, 0};
  return {};
}

}  // namespace xentt::bt
