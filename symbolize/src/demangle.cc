#include "demangle.h"

#include <libiberty/demangle.h>

#include <cstdlib>
#include <memory>

namespace xentt::sym::detail {

std::optional<std::string> demangle_name(std::string_view name) {
  // c++filt's flags (binutils cxxfilt.c), with the style given here rather
  // than taken from libiberty's global current_demangling_style.
  constexpr int kFlags = DMGL_PARAMS | DMGL_ANSI | DMGL_VERBOSE | DMGL_AUTO;
  std::string z(name);  // NUL-terminated; names in the mapped file are too, but views need not be
  std::unique_ptr<char, decltype(&std::free)> d(cplus_demangle(z.c_str(), kFlags), &std::free);
  if (!d) return std::nullopt;
  return std::string(d.get());
}

}  // namespace xentt::sym::detail
