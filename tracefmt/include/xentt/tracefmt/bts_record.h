// xentt/tracefmt/bts_record.h: one branch record, exactly as the hardware's BTS buffer holds it.
//
// Intel's Branch Trace Store writes 24-byte entries {from, to, flags} on
// x86-64; XenTT's .bts files are arrays of them. In the "extended" variant the
// third field carries the record's branch counter (brctr) instead of the
// hardware flags. See docs/bts-format.md for the byte layout.
#pragma once

#include <cstdint>
#include <type_traits>

namespace xentt::bts {

struct Record {
  std::uint64_t from;    // address of the branch instruction
  std::uint64_t to;      // its target
  std::uint64_t format;  // raw files: hardware flags; extended files: brctr
};
static_assert(sizeof(Record) == 24 && std::is_trivially_copyable_v<Record>,
              "Record must keep the BTS buffer layout");

// The first record of an extended file: all 192 bits set. No real branch has
// from == to == ~0, so it cannot be mistaken for data.
inline constexpr Record kExtendedMarker{~0ull, ~0ull, ~0ull};

inline bool is_extended_marker(const Record& r) noexcept {
  return r.from == ~0ull && r.to == ~0ull && r.format == ~0ull;
}

}  // namespace xentt::bts
