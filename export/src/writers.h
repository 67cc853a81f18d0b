// writers.h: one function per format (src/FORMAT.cc), called by write_export.
#pragma once

#include <string>

#include "walk.h"
#include "xentt/export/export.h"

namespace xentt::exports {

struct Context {
  const Trace& trace;
  sym::Symbolizer& symbols;
  const CodeImage& code;
  const Options& options;
  Sink& out;
  Report& report;
};

// Output buffered in large pieces.
class Buffer {
 public:
  explicit Buffer(Sink& s) : sink_(s) { buf.reserve(kBlock + 4096); }
  ~Buffer() = default;
  std::string buf;
  void maybe_flush() {
    if (buf.size() >= kBlock) flush();
  }
  void flush() {
    if (!buf.empty()) sink_.write(buf);
    buf.clear();
  }

 private:
  static constexpr std::size_t kBlock = 1 << 20;
  Sink& sink_;
};

void write_folded(Context& c);
void write_perf(Context& c);
void write_drcov(Context& c);
void write_perfetto(Context& c, bool proto);

}  // namespace xentt::exports
