// xentt/base/printable.h: bytes from a file or a peer, quoted into an error
// message. Messages are one printable line (DESIGN.md), and what a damaged
// file or a misbehaving QEMU sends can hold newlines, escape sequences or
// megabytes: every excerpt of untrusted input goes through here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace xentt {

// `s` with control bytes, DEL and backslash written as \xNN, cut after
// `max` bytes of input with "..." (and how many bytes were left out).
// Bytes from 0x80 up pass unchanged (UTF-8 names stay readable). Cost: one
// pass over at most `max` bytes.
inline std::string printable(std::string_view s, std::size_t max = 80) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  std::size_t n = s.size() < max ? s.size() : max;
  out.reserve(n + 16);
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c == '\\') {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (n < s.size()) out += "... (" + std::to_string(s.size() - n) + " more bytes)";
  return out;
}

}  // namespace xentt
