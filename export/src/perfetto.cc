// The Chrome trace event format (JSON), which Perfetto's UI and
// chrome://tracing open: {"traceEvents": [...]} with a "B" (begin) event
// when a function is entered and an "E" (end) event when it is left, on one
// thread, so that calls nest as slices. Time ("ts", microseconds in the
// format) is the instruction count where the trace has it (trace logs),
// else the record index.
#include <fmt/format.h>

#include "writers.h"

namespace xentt::exports {
namespace {

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u >= 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
    } else {
      out += ch;
    }
  }
  out += '"';
}

class Slices : public CallStacks::Events {
 public:
  Slices(const Trace& t, FunctionNames& names, Buffer& b) : t_(t), names_(names), b_(b) {}
  void open(std::uint32_t func, const Step* at) override {
    event('B', at, false);
    b_.buf += ",\"name\":";
    json_string(b_.buf, names_.name(func));
    b_.buf += "}";
    b_.maybe_flush();
  }
  void close(const Step* at) override {
    event('E', at, true);
    b_.buf += "}";
    b_.maybe_flush();
  }

 private:
  // A step's time; without one, the start (opening) or the end (closing).
  std::uint64_t time(const Step* at, bool end) const {
    if (t_.records.empty() || (!at && !end)) return 0;
    std::size_t i = at ? at->index : t_.records.size() - 1;
    if (!t_.icounts.empty()) return t_.icounts[i] - t_.icounts[0];
    return at ? i : i + 1;
  }
  void event(char ph, const Step* at, bool end) {
    b_.buf += first_ ? "\n" : ",\n";
    first_ = false;
    fmt::format_to(std::back_inserter(b_.buf), "{{\"ph\":\"{}\",\"ts\":{},\"pid\":1,\"tid\":1", ph, time(at, end));
  }
  const Trace& t_;
  FunctionNames& names_;
  Buffer& b_;
  bool first_ = true;
};

}  // namespace

void write_perfetto(Context& c) {
  Buffer b(c.out);
  b.buf += "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"source\":";
  json_string(b.buf, c.trace.name);
  fmt::format_to(std::back_inserter(b.buf), ",\"time\":\"{}\"}},\"traceEvents\":[",
                 c.trace.icounts.empty() ? "record index" : "instructions");
  Walker w(c.trace, c.code, c.report);
  FunctionNames names(c.symbols);
  CallStacks stacks(names);
  Slices slices(c.trace, names, b);
  stacks.run(w, c.trace.records.size(), slices);
  b.buf += "\n]}\n";
  b.flush();
}

}  // namespace xentt::exports
