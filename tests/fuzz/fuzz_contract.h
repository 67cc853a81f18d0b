// fuzz_contract.h: what every fuzz target asserts about the code it feeds.
//
// Bad input is refused with an xentt::Error whose message is one printable
// line (DESIGN.md); any other exception escaping, a crash, a hang (libFuzzer
// -timeout) or a huge allocation (-malloc_limit_mb) is a finding. A broken
// contract aborts, so libFuzzer saves the input as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "xentt/base/error.h"

namespace xentt::fuzz {

[[noreturn]] inline void broken(const char* what, std::string_view detail) {
  std::fprintf(stderr, "fuzz contract broken: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// Fails unless `ok`: for properties a target checks on what was parsed.
inline void require(bool ok, const char* what) {
  if (!ok) broken(what, "");
}

// One printable line: not empty, no control bytes (a newline would split
// it, an escape sequence would reach the user's terminal).
inline void check_message(std::string_view m) {
  if (m.empty()) broken("empty error message", m);
  for (char c : m)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) broken("error message is not one printable line", m);
}

// A warning a caller would print, if there is one.
inline void check_message_if_any(std::string_view m) {
  if (!m.empty()) check_message(m);
}

// Runs `f`: it may return or throw xentt::Error (with a good message), nothing else.
template <class F>
void only_errors(F&& f) {
  try {
    f();
  } catch (const xentt::Error& e) {
    check_message(e.what());
  } catch (const std::exception& e) {
    broken("an exception that is not an xentt::Error escaped", e.what());
  } catch (...) {
    broken("something that is not an exception was thrown", "");
  }
}

// The round trip of a reader and its writer: what `read` accepts from the
// input's bytes (or refuses with an xentt::Error), `write` writes in a
// form that `read` accepts again and that writes back the same.
template <class Read, class Write>
void check_round_trip(const std::uint8_t* data, std::size_t size, Read&& read, Write&& write) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::optional<decltype(read(text))> first;
  only_errors([&] { first.emplace(read(text)); });
  if (!first) return;
  std::string written = write(*first);
  try {
    require(write(read(written)) == written, "what the reader accepted changes when written and read back");
  } catch (const std::exception& e) {
    broken("what the reader accepted does not read back", e.what());
  }
}

}  // namespace xentt::fuzz
