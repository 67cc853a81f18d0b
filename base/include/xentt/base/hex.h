// xentt/base/hex.h: bytes as lowercase hex text and back (build-ids, the
// gdb remote protocol's payloads, the plugin's control replies, tt_vmi's
// byte dumps in JSON). Cost: one pass.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xentt {

// Two lowercase hex digits per byte.
std::string hex_encode(std::string_view bytes);
// The bytes `hex` spells (either case); nothing for an odd length or a
// character that is not a hex digit.
std::optional<std::string> hex_decode(std::string_view hex);
// The value of one hex digit, or -1.
int hex_digit(char c) noexcept;

}  // namespace xentt
