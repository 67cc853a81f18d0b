// xentt/base/number.h: numbers as users type them on command lines and in
// locations: decimal, or 0x-prefixed hex, 64 bits.
#pragma once

#include <cstdint>
#include <string_view>

namespace xentt {

// Parses an unsigned number, "0x"-prefixed hex or decimal. Throws BadInput
// naming `what` when the text is not a number or does not fit in 64 bits.
std::uint64_t parse_u64(std::string_view text, std::string_view what);

// Whether `text` is meant as a number rather than a name: it starts with a
// digit (no C symbol does).
inline bool looks_numeric(std::string_view text) { return !text.empty() && text[0] >= '0' && text[0] <= '9'; }

}  // namespace xentt
