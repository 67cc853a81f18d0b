// xentt/session/location.h: the time coordinate of a replay (DESIGN.md, "The time
// coordinate").
//
// A Location names a point in a replay the way a user does: the instruction
// pointer, which visit to it (the vCPU's branch counter, brctr), and for a
// rep-prefixed instruction the remaining count in rCX. A Location without
// brctr means "the first time eip is reached after the previous stop".
//
// Fully specified locations (brctr present) are totally ordered: between two
// taken branches execution is straight-line, so eip grows, and a rep
// instruction counts rCX down. Positions from the engine's instruction count
// are a separate type (Icount), since converting between the two needs a
// replay.
#pragma once

#include "xentt/base/number.h"

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xentt {

struct Location {
  uint64_t eip = 0;
  std::optional<uint64_t> brctr;
  std::optional<uint64_t> cx;

  bool operator==(const Location&) const = default;
};

// Orders two locations in replay time. Both must carry brctr; otherwise the
// order is unknown without replaying and the result is `unordered`.
std::partial_ordering operator<=>(const Location& a, const Location& b);

// An instruction count of the engine (QEMU's icount): the number of guest
// instructions retired since the recording began.
struct Icount {
  uint64_t value = 0;
  auto operator<=>(const Icount&) const = default;
};

// What `--until` accepts: a location or an instruction count.
struct StopPoint {
  std::optional<Location> location;  // exactly one of the two is set
  std::optional<Icount> icount;
  std::optional<std::string> symbol;  // set when eip was given by name; eip is then unresolved (0)
};

// Parses "eip[:brctr[:cx]]" or "icount=N". Numbers are C-style (0x.. hex,
// otherwise decimal); eip may be a symbol name, which the caller resolves.
// Throws xentt::Error (BadInput) naming the text and what is wrong.
StopPoint parse_stop_point(std::string_view text);

// "0xffffffff81000000:1234" or "0x...:1234:5", the inverse of parse_stop_point().
std::string format_location(const Location& loc);

// parse_u64(): xentt/base/number.h, included above.

}  // namespace xentt
