#include "x86_insn.h"

#include <array>

namespace xentt::exports {
namespace {

using xtl::BranchKind;

constexpr bool is_legacy_prefix(std::uint8_t b) {
  switch (b) {
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
    case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65:
      return true;
    default:
      return false;
  }
}

// One-byte map: which opcodes take a ModRM byte.
constexpr std::array<bool, 256> make_modrm1() {
  std::array<bool, 256> t{};
  for (int op = 0; op < 0x40; ++op) t[op] = (op & 7) < 4;
  for (int op : {0x62, 0x63, 0x69, 0x6b, 0xc0, 0xc1, 0xc4, 0xc5, 0xc6, 0xc7, 0xf6, 0xf7, 0xfe, 0xff}) t[op] = true;
  for (int op = 0x80; op <= 0x8f; ++op) t[op] = true;
  for (int op = 0xd0; op <= 0xd3; ++op) t[op] = true;
  for (int op = 0xd8; op <= 0xdf; ++op) t[op] = true;
  return t;
}
constexpr auto kModrm1 = make_modrm1();

// Two-byte map (0F xx): which opcodes take no ModRM byte.
constexpr std::array<bool, 256> make_no_modrm2() {
  std::array<bool, 256> t{};
  for (int op : {0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0e, 0x39, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x77,
                 0xa0, 0xa1, 0xa2, 0xa8, 0xa9, 0xaa})
    t[op] = true;
  for (int op = 0x30; op <= 0x37; ++op) t[op] = true;
  for (int op = 0x80; op <= 0x8f; ++op) t[op] = true;
  for (int op = 0xc8; op <= 0xcf; ++op) t[op] = true;
  return t;
}
constexpr auto kNoModrm2 = make_no_modrm2();

// Bytes of ModRM + SIB + displacement at p (64-bit addressing; the
// 32-bit address-size override has the same layout). 0 if truncated.
std::size_t modrm_length(const std::uint8_t* p, std::size_t avail, bool register_form) {
  if (avail < 1) return 0;
  const unsigned mod = register_form ? 3 : p[0] >> 6, rm = p[0] & 7;
  std::size_t n = 1;
  if (mod != 3 && rm == 4) {
    if (avail < 2) return 0;
    if (mod == 0 && (p[1] & 7) == 5) n += 4;
    n += 1;
  }
  if (mod == 0 && rm == 5) n += 4;
  if (mod == 1) n += 1;
  if (mod == 2) n += 4;
  return n;
}

std::int64_t signed_at(const std::uint8_t* p, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) v |= std::uint64_t(p[i]) << (8 * i);
  unsigned shift = 64 - 8 * unsigned(width);
  return std::int64_t(v << shift) >> shift;
}

}  // namespace

Insn decode_insn(const std::uint8_t* b, std::size_t avail, std::uint64_t vaddr) noexcept {
  Insn r;
  if (avail > 15) avail = 15;
  std::size_t i = 0;
  bool opsize16 = false, addr32 = false, rex_w = false;
  while (i < avail && is_legacy_prefix(b[i])) {
    opsize16 |= b[i] == 0x66;
    addr32 |= b[i] == 0x67;
    ++i;
  }
  if (i < avail && (b[i] & 0xf0) == 0x40) {  // REX (64-bit mode)
    rex_w = (b[i] & 8) != 0;
    ++i;
  }
  if (i >= avail) return r;
  const std::size_t z = opsize16 ? 2 : 4;
  std::uint8_t op = b[i];
  // VEX, EVEX and XOP: a prefix that names the opcode map; always a ModRM.
  if (op == 0xc4 || op == 0xc5 || op == 0x62 || (op == 0x8f && i + 1 < avail && (b[i + 1] & 0x1f) >= 8)) {
    unsigned map;
    std::size_t prefix;
    if (op == 0xc5) {
      map = 1, prefix = 2;
    } else if (op == 0x62) {
      if (i + 1 >= avail) return r;
      map = b[i + 1] & 7, prefix = 4;
    } else {
      if (i + 1 >= avail) return r;
      map = b[i + 1] & 0x1f, prefix = 3;
    }
    i += prefix;
    if (i >= avail) return r;
    const std::uint8_t vop = b[i++];
    std::size_t imm = 0;
    if (op == 0x8f) {
      imm = map == 8 ? 1 : map == 10 ? 4 : 0;
    } else if (map == 3) {
      imm = 1;
    } else if (map == 1) {
      imm = (vop >= 0x70 && vop <= 0x73) || vop == 0xc2 || vop == 0xc4 || vop == 0xc5 || vop == 0xc6 ? 1 : 0;
      if (vop == 0x77 && op != 0x62) {  // vzeroupper/vzeroall: no ModRM
        r.length = std::uint8_t(i);
        return r;
      }
    }
    std::size_t m = modrm_length(b + i, avail - i, false);
    if (!m || i + m + imm > avail) return r;
    r.length = std::uint8_t(i + m + imm);
    return r;
  }
  ++i;  // past the opcode byte
  std::size_t imm = 0;
  bool modrm = false, register_form = false;
  if (op == 0x0f) {
    if (i >= avail) return r;
    const std::uint8_t op2 = b[i++];
    if (op2 == 0x38 || op2 == 0x3a) {
      if (i >= avail) return r;
      ++i;  // the third opcode byte
      modrm = true;
      imm = op2 == 0x3a ? 1 : 0;
    } else {
      modrm = !kNoModrm2[op2];
      register_form = op2 >= 0x20 && op2 <= 0x23;  // mov to/from CRn/DRn ignore mod
      if ((op2 >= 0x70 && op2 <= 0x73) || op2 == 0xa4 || op2 == 0xac || op2 == 0xba || op2 == 0xc2 ||
          op2 == 0xc4 || op2 == 0xc5 || op2 == 0xc6 || op2 == 0x0f)
        imm = 1;
      if (op2 >= 0x80 && op2 <= 0x8f) {
        imm = 4;
        r.branch = r.direct = true;
        r.kind = BranchKind::CondJump;
      } else if (op2 == 0x05 || op2 == 0x34) {
        r.branch = r.system = true;
        r.kind = BranchKind::SoftInterrupt;
      } else if (op2 == 0x07 || op2 == 0x35) {
        r.branch = r.system = true;
        r.kind = BranchKind::EventReturn;
      } else if (op2 == 0xaa) {  // rsm
        r.branch = true;
        r.kind = BranchKind::EventReturn;
      }
    }
  } else {
    modrm = kModrm1[op];
    if (op < 0x40 && (op & 7) == 4) imm = 1;
    else if (op < 0x40 && (op & 7) == 5) imm = z;
    else if (op >= 0x70 && op <= 0x7f) imm = 1;
    else if (op >= 0xb0 && op <= 0xb7) imm = 1;
    else if (op >= 0xb8 && op <= 0xbf) imm = rex_w ? 8 : z;
    else if (op >= 0xa0 && op <= 0xa3) imm = addr32 ? 4 : 8;
    else if (op >= 0xe0 && op <= 0xe7) imm = 1;
    else {
      switch (op) {
        case 0x68: case 0x69: case 0x81: case 0xa9: case 0xc7: imm = z; break;
        case 0x6a: case 0x6b: case 0x80: case 0x82: case 0x83: case 0xa8: case 0xc0: case 0xc1: case 0xc6:
        case 0xcd: case 0xd4: case 0xd5: case 0xeb:
          imm = 1;
          break;
        case 0xc2: case 0xca: imm = 2; break;
        case 0xc8: imm = 3; break;
        case 0xe8: case 0xe9: imm = 4; break;  // rel32 in 64-bit mode whatever the operand size
        case 0x9a: case 0xea: return r;       // invalid in 64-bit mode
        case 0xf6: case 0xf7:
          if (i >= avail) return r;
          if (((b[i] >> 3) & 7) < 2) imm = op == 0xf6 ? 1 : z;  // test r/m, imm
          break;
        default: break;
      }
    }
    if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3)) {
      r.branch = r.direct = true;
      r.kind = BranchKind::CondJump;
    }
    switch (op) {
      case 0xeb: case 0xe9: r.branch = r.direct = true, r.kind = BranchKind::Jump; break;
      case 0xe8: r.branch = r.direct = true, r.kind = BranchKind::Call; break;
      case 0xc2: case 0xc3: case 0xca: case 0xcb: r.branch = true, r.kind = BranchKind::Return; break;
      case 0xcf: r.branch = true, r.kind = BranchKind::EventReturn; break;
      case 0xcc: case 0xcd: case 0xf1: r.branch = true, r.kind = BranchKind::SoftInterrupt; break;
      case 0xff:
        if (i >= avail) return r;
        switch ((b[i] >> 3) & 7) {
          case 2: case 3: r.branch = true, r.kind = BranchKind::IndirectCall; break;
          case 4: case 5: r.branch = true, r.kind = BranchKind::IndirectJump; break;
          default: break;
        }
        break;
      default: break;
    }
  }
  std::size_t m = 0;
  if (modrm) {
    m = modrm_length(b + i, avail - i, register_form);
    if (!m) return Insn{};
  }
  if (i + m + imm > avail) return Insn{};
  r.length = std::uint8_t(i + m + imm);
  if (r.direct) r.target = vaddr + r.length + std::uint64_t(signed_at(b + r.length - imm, imm));
  return r;
}

}  // namespace xentt::exports
