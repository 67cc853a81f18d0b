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

#include "xentt/base/printable.h"

namespace xentt {

enum class ErrorKind {
  Runtime,   // the environment failed us: a QEMU died, a socket closed (exit 1)
  BadInput,  // the user's input is wrong: bad option, corrupt file (exit 2)
};

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
