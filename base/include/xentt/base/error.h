// xentt/base/error.h: the one error type the libraries throw and the tools catch.
//
// Libraries never exit: they throw xentt::Error, which carries what went
// wrong with its coordinates already in the message (file, byte offset,
// record number, location) and a kind that tells main() which exit status
// to use. The message is one line, written for the user, and says what to do
// where that is known.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace xentt {

enum class ErrorKind {
  Runtime,   // the environment failed us: a QEMU died, a socket closed (exit 1)
  BadInput,  // the user's input is wrong: bad option, corrupt file (exit 2)
};

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

class Error : public std::runtime_error {
 public:
  // The message is made printable (printable()): one line, whatever it quotes.
  Error(ErrorKind kind, const std::string& what) : std::runtime_error(printable(what)), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }
  int exit_status() const noexcept { return kind_ == ErrorKind::BadInput ? 2 : 1; }

 private:
  ErrorKind kind_;
};

// Shorthands that read well at the throw site: `throw bad_input(path + ": ...")`.
inline Error bad_input(const std::string& what) { return Error(ErrorKind::BadInput, what); }
inline Error runtime_error(const std::string& what) { return Error(ErrorKind::Runtime, what); }

// An errno-carrying runtime error: "<what>: <strerror(err)>" (thread-safe,
// unlike strerror()).
inline Error system_error(const std::string& what, int err) {
  return Error(ErrorKind::Runtime, what + ": " + std::system_category().message(err));
}

}  // namespace xentt
