#include "xentt/base/number.h"

#include <charconv>
#include <string>

#include "xentt/base/error.h"

namespace xentt {

std::uint64_t parse_u64(std::string_view text, std::string_view what) {
  int base = 10;
  std::string_view digits = text;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    throw bad_input(std::string(what) + " '" + std::string(text) + "' is not a number (use decimal or 0x-prefixed hex)");
  }
  if (ec == std::errc::result_out_of_range) {
    throw bad_input(std::string(what) + " '" + std::string(text) + "' does not fit in 64 bits");
  }
  return v;
}

}  // namespace xentt
