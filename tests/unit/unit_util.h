// Helpers the unit tests share: a scratch directory, and what an Error
// thrown by a call says.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "xentt/base/error.h"

namespace xentt::test {

// A fresh directory under /tmp, removed with everything in it at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/xentt-unit.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// The Error `f` throws, if any.
inline std::optional<Error> error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}
// Its exit status (0: no Error), and its message ("" for none).
inline int status_of(const std::function<void()>& f) {
  auto e = error_of(f);
  return e ? e->exit_status() : 0;
}
inline std::string message_of(const std::function<void()>& f) {
  auto e = error_of(f);
  return e ? e->what() : "";
}

}  // namespace xentt::test
