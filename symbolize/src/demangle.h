// demangle.h (internal): C++ and Rust names as c++filt prints them.
//
// libiberty's cplus_demangle with c++filt's flags (parameters, const and
// volatile, "verbose": std::basic_string<char, ...> rather than
// std::string) and automatic style: Itanium C++ (_Z...), Rust legacy
// (_ZN...17h<hash>E, decoded $LT$ escapes) and Rust v0 (_R...). libstdc++'s
// abi::__cxa_demangle knows only C++ and abbreviates std:: names where
// c++filt does not. Reentrant: parsing threads call it at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xentt::sym::detail {

// Whether `name` may be a mangled name (a cheap test of its first bytes:
// "_Z", "_R", "_GLOBAL_"); C names fail it after one or two compares.
inline bool maybe_mangled(std::string_view name) noexcept {
  return name.size() > 2 && name[0] == '_' &&
         (name[1] == 'Z' || name[1] == 'R' || (name[1] == 'G' && name.starts_with("_GLOBAL_")));
}

// The demangled name, or nullopt when `name` is not a mangled name
// libiberty knows. Costs ~1-3 us for a C++ name.
std::optional<std::string> demangle_name(std::string_view name);

}  // namespace xentt::sym::detail
