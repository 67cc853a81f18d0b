// xentt/base/printable.h: bytes from a file, a guest or a peer, quoted into
// a message. Messages are one printable line (DESIGN.md), and what a damaged
// file or a misbehaving QEMU sends can hold newlines, escape sequences or
// megabytes: every excerpt of untrusted input goes through here. Error
// (error.h) passes its whole message through printable() as well.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace xentt {

// `text` as one printable line: control characters (newlines, NULs, escape
// sequences) and bytes that are not UTF-8 become \n, \t or \xNN, so text
// taken from a file or a guest can neither cut a message short nor reach
// the terminal raw. Idempotent: its output is left as it is. Cost: one pass.
inline std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    // The length of a well-formed UTF-8 sequence starting here (1 for ASCII), or 0.
    std::size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    for (std::size_t k = 1; k < n; k++)
      if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) n = 0;
    if (n == 1 && c >= 0x20 && c != 0x7f) {
      out += static_cast<char>(c);
    } else if (n > 1) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
    i++;
  }
  return out;
}

// printable() of at most the first `max` bytes of `text`, followed by
// "... (N more bytes)" when it was cut: for quoting a line from a peer or a
// value from a file that may be megabytes long. Cost: one pass over `max`.
inline std::string excerpt(std::string_view text, std::size_t max = 80) {
  if (text.size() <= max) return printable(text);
  return printable(text.substr(0, max)) + "... (" + std::to_string(text.size() - max) + " more bytes)";
}

}  // namespace xentt
