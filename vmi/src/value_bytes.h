// value_bytes.h: an object's bytes, read once, and the integers in them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <span>
#include <vector>

#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

// Signed integers, signed chars and enums whose values are signed.
inline bool is_signed(const sym::Type* s) {
  return (s->kind == sym::TypeKind::Base || s->kind == sym::TypeKind::Enum) &&
         (s->encoding == sym::Encoding::Signed || s->encoding == sym::Encoding::SignedChar);
}
// The low `bits` bits of `v` as a two's-complement number.
inline std::uint64_t sign_extend(std::uint64_t v, unsigned bits) {
  if (bits == 0 || bits >= 64) return v;
  unsigned shift = 64 - bits;
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(v << shift) >> shift);
}
// The bytes of an integer of (stripped) type `s`, read as an integer: its value's bits.
inline std::uint64_t integer_value(const sym::Type* s, std::uint64_t raw) {
  return is_signed(s) ? sign_extend(raw, static_cast<unsigned>(8 * s->size)) : raw;
}

// A float's or double's value from its bits; nullopt for other sizes
// (x87 long double, _Float128), which are not decoded.
inline std::optional<double> float_value(const sym::Type* s, std::uint64_t raw) {
  if (s->size == 4) {
    float f;
    auto u = static_cast<std::uint32_t>(raw);
    std::memcpy(&f, &u, 4);
    return f;
  }
  if (s->size != 8) return std::nullopt;
  double d;
  std::memcpy(&d, &raw, 8);
  return d;
}

// The name of enum `s`'s enumerator with value `raw`; nullptr if none has it.
inline const std::string* enumerator_name(const sym::Type* s, std::uint64_t raw) {
  for (const auto& e : s->enumerators)
    if (static_cast<std::uint64_t>(e.value) == raw) return &e.name;
  return nullptr;
}

// A view of little-endian bytes. Reads past the end give zero bytes: a
// member of a truncated read (an array cut at the element limit) prints
// as zero rather than crashing.
class Bytes {
 public:
  Bytes(std::span<const std::byte> b) : b_(b) {}
  std::size_t size() const { return b_.size(); }
  unsigned char byte(std::uint64_t i) const { return i < b_.size() ? std::to_integer<unsigned char>(b_[i]) : 0; }
  Bytes sub(std::uint64_t off, std::uint64_t len) const {
    if (off >= b_.size()) return Bytes({});
    return Bytes(b_.subspan(off, std::min<std::uint64_t>(len, b_.size() - off)));
  }
  // The first `size` (<= 8) bytes as an integer.
  std::uint64_t scalar(std::uint64_t size) const {
    std::uint64_t v = 0;
    for (std::uint64_t i = std::min<std::uint64_t>(size, 8); i-- > 0;) v = (v << 8) | byte(i);
    return v;
  }
  // A bitfield: `bit_size` bits from bit `bit_offset` of the byte at `off`.
  std::uint64_t bits(std::uint64_t off, std::uint32_t bit_offset, std::uint32_t bit_size, bool sign) const {
    unsigned __int128 x = 0;
    for (std::uint64_t i = (bit_offset + bit_size + 7) / 8; i-- > 0;) x = (x << 8) | byte(off + i);
    std::uint64_t v = static_cast<std::uint64_t>(x >> bit_offset);
    if (bit_size < 64) v &= (std::uint64_t{1} << bit_size) - 1;
    return sign ? sign_extend(v, bit_size) : v;
  }

 private:
  std::span<const std::byte> b_;
};

// The bytes of `v` (which has an address): the whole object; an array
// longer than 1 MiB is cut there (printing stops long before, unless it
// repeats). Throws BadInput naming v.expr when the type has no known size or
// the read fails.
std::vector<std::byte> read_object(const EvalContext& cx, const Value& v);

}  // namespace xentt::vmi
