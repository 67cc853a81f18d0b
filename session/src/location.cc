#include "xentt/session/location.h"

#include <charconv>
#include <fmt/format.h>

#include "xentt/base/error.h"

namespace xentt {

std::partial_ordering operator<=>(const Location& a, const Location& b) {
  if (!a.brctr || !b.brctr) {
    return a == b ? std::partial_ordering::equivalent : std::partial_ordering::unordered;
  }
  if (auto c = *a.brctr <=> *b.brctr; c != 0) return c;
  if (auto c = a.eip <=> b.eip; c != 0) return c;
  // Same instruction: a rep iteration with more left to do comes first; the
  // instruction with no rep count is its first iteration.
  uint64_t acx = a.cx.value_or(UINT64_MAX), bcx = b.cx.value_or(UINT64_MAX);
  return bcx <=> acx;
}


StopPoint parse_stop_point(std::string_view text) {
  StopPoint sp;
  if (text.starts_with("icount=")) {
    sp.icount = Icount{parse_u64(text.substr(7), "instruction count")};
    return sp;
  }
  if (text.empty()) throw bad_input("empty location (expected eip[:brctr[:cx]] or icount=N)");
  Location loc;
  std::string_view rest = text;
  auto next = [&rest]() {
    auto colon = rest.find(':');
    std::string_view part = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    return part;
  };
  std::string_view eip = next();
  if (looks_numeric(eip)) {
    loc.eip = parse_u64(eip, "eip");
  } else if (!eip.empty()) {
    sp.symbol = std::string(eip);
  } else {
    throw bad_input("location '" + std::string(text) + "' has no eip (expected eip[:brctr[:cx]])");
  }
  if (!rest.empty() || text.find(':') != std::string_view::npos) loc.brctr = parse_u64(next(), "brctr");
  if (!rest.empty() || text.find(':') != text.rfind(':')) loc.cx = parse_u64(next(), "cx");
  if (!rest.empty()) {
    throw bad_input("location '" + std::string(text) + "' has too many fields (expected eip[:brctr[:cx]])");
  }
  sp.location = loc;
  return sp;
}

std::string format_location(const Location& loc) {
  std::string s = fmt::format("{:#x}", loc.eip);
  if (loc.brctr) s += fmt::format(":{}", *loc.brctr);
  if (loc.cx) s += fmt::format(":{}", *loc.cx);
  return s;
}

}  // namespace xentt
