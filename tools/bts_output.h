// bts_output.h: block-buffered stdout for the tools' hot loops; write
// errors (a full disk, a closed pipe) become runtime errors.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

#include "xentt/base/error.h"

namespace xentt::tools {

class Output {
 public:
  explicit Output(int fd = 1) : fd_(fd) { buf.reserve(kBlock + 4096); }
  ~Output() {
    try {
      flush();
    } catch (...) {
    }
  }
  std::string buf;
  // Call after appending; writes when a block is full.
  void maybe_flush() {
    if (buf.size() >= kBlock) flush();
  }
  void flush() {
    write(buf);
    buf.clear();
  }
  // Writes `s` now (after flush(), to keep the order).
  void write(std::string_view s) {
    const char* p = s.data();
    std::size_t n = s.size();
    while (n) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        buf.clear();
        throw xentt::system_error("writing output", errno);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }

 private:
  static constexpr std::size_t kBlock = 1 << 20;
  int fd_;
};

}  // namespace xentt::tools
