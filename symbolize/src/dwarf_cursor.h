// dwarf_cursor.h (internal): bounds-checked reading of DWARF sections.
//
// The per-unit parsers (dwarf_unit.h, dwarf_lines.h) read the mapped
// sections directly instead of through libdw: libdw's general API costs
// 0.7-1 ms per kernel compile unit (attribute lookups that rescan the
// abbreviation, line tables sorted with qsort, a malloc per row), most of
// it for data we never look at. Every read is checked against the end of
// its section; running past it throws Corrupt, which the unit loader turns
// into a once-reported warning. Reads cost a few instructions each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace xentt::sym::detail {

// A section's bytes (empty when the file has no such section).
struct Section {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

// Thrown on truncated or inconsistent DWARF; `offset` is in `section`.
struct Corrupt {
  const char* section;
  std::uint64_t offset;
  const char* what;
};

class Cursor {
 public:
  Cursor(Section s, const char* name, std::uint64_t at = 0, bool big_endian = false)
      : base_(s.data), end_(s.size), pos_(at), name_(name), big_(big_endian) {
    if (at > s.size) fail("offset past the end of the section");
  }

  std::uint64_t pos() const noexcept { return pos_; }
  std::size_t size() const noexcept { return end_; }
  bool at_end() const noexcept { return pos_ >= end_; }
  const char* name() const noexcept { return name_; }
  bool big_endian() const noexcept { return big_; }
  void seek(std::uint64_t at) {
    if (at > end_) fail("offset past the end of the section");
    pos_ = at;
  }
  // Narrows the readable range to [.., end) (a unit's or a table's end).
  void limit(std::uint64_t end) {
    if (end > end_) fail("length runs past the end of the section");
    end_ = static_cast<std::size_t>(end);
  }
  void skip(std::uint64_t n) {
    if (n > end_ - pos_) fail("runs past the end of its section");
    pos_ += n;
  }
  const std::uint8_t* here() const noexcept { return base_ + pos_; }

  std::uint8_t u8() {
    if (pos_ >= end_) fail("runs past the end of its section");
    return base_[pos_++];
  }
  std::uint64_t fixed(unsigned n) {  // n <= 8
    if (n > end_ - pos_) fail("runs past the end of its section");
    std::uint64_t v = 0;
    const std::uint8_t* p = base_ + pos_;
    if (big_)
      for (unsigned i = 0; i < n; ++i) v = (v << 8) | p[i];
    else
      for (unsigned i = n; i-- > 0;) v = (v << 8) | p[i];
    pos_ += n;
    return v;
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(fixed(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(fixed(4)); }
  std::uint64_t u64() { return fixed(8); }
  std::uint64_t uleb() {
    std::uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
      std::uint8_t b = u8();
      if (shift < 64) v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) return v;
    }
  }
  std::int64_t sleb() {
    std::uint64_t v = 0;
    unsigned shift = 0;
    std::uint8_t b;
    do {
      b = u8();
      if (shift < 64) v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= ~0ull << shift;
    return static_cast<std::int64_t>(v);
  }
  // A NUL-terminated string in place.
  std::string_view cstr() {
    const void* z = std::memchr(base_ + pos_, 0, end_ - pos_);
    if (!z) fail("unterminated string");
    std::size_t n = static_cast<std::size_t>(static_cast<const std::uint8_t*>(z) - (base_ + pos_));
    std::string_view s(reinterpret_cast<const char*>(base_ + pos_), n);
    pos_ += n + 1;
    return s;
  }
  // An initial length: sets the offset size (4 or 8) and returns the length.
  std::uint64_t initial_length(unsigned& offset_size) {
    std::uint64_t len = u32();
    offset_size = 4;
    if (len == 0xffffffffu) {
      len = u64();
      offset_size = 8;
    } else if (len >= 0xfffffff0u) {
      fail("reserved initial length");
    }
    return len;
  }

  [[noreturn]] void fail(const char* what) const { throw Corrupt{name_, pos_, what}; }

 private:
  const std::uint8_t* base_;
  std::size_t end_;
  std::uint64_t pos_;
  const char* name_;
  bool big_;
};

// A NUL-terminated string at `off` in a string section, or empty.
inline std::string_view string_at(Section s, std::uint64_t off) {
  if (off >= s.size) return {};
  const char* p = reinterpret_cast<const char*>(s.data) + off;
  const void* z = std::memchr(p, 0, s.size - off);
  if (!z) return {};
  return std::string_view(p, static_cast<std::size_t>(static_cast<const char*>(z) - p));
}

}  // namespace xentt::sym::detail
