#include "xentt/export/export.h"

#include "xentt/base/error.h"
#include "writers.h"

namespace xentt::exports {
namespace {

struct Entry {
  const char* name;
  Format format;
};
constexpr Entry kFormats[] = {
    {"folded", Format::Folded}, {"perf", Format::Perf}, {"drcov", Format::Drcov}, {"perfetto", Format::Perfetto},
    {"perfetto-proto", Format::PerfettoProto}};

}  // namespace

std::optional<Format> parse_format(std::string_view name) noexcept {
  for (const auto& e : kFormats)
    if (name == e.name) return e.format;
  return std::nullopt;
}

const char* format_name(Format f) noexcept {
  for (const auto& e : kFormats)
    if (f == e.format) return e.name;
  return "?";
}

std::string format_names() {
  std::string s;
  for (const auto& e : kFormats) {
    if (!s.empty()) s += ", ";
    s += e.name;
  }
  return s;
}

std::optional<Weight> parse_weight(std::string_view name) noexcept {
  if (name == "instructions") return Weight::Instructions;
  if (name == "bytes") return Weight::Bytes;
  if (name == "branches") return Weight::Branches;
  return std::nullopt;
}

Report write_export(Format format, const Trace& trace, sym::Symbolizer& symbols, const CodeImage& code,
                    const Options& options, Sink& out) {
  if (!trace.kinds.empty() && trace.kinds.size() != trace.records.size())
    throw runtime_error(trace.name + ": " + std::to_string(trace.kinds.size()) + " kinds for " +
                        std::to_string(trace.records.size()) + " records");
  if (!trace.icounts.empty() && trace.icounts.size() != trace.records.size())
    throw runtime_error(trace.name + ": " + std::to_string(trace.icounts.size()) + " icounts for " +
                        std::to_string(trace.records.size()) + " records");
  if (!Walker::can_classify(trace, code))
    throw bad_input(std::string("--format ") + format_name(format) + " needs the code of the traced program to tell " +
                    "calls from jumps in " + trace.name +
                    " (a .bts file has no branch kinds): give its ELF files (-e FILE or --symmap FILE@lo-hi), "
                    "not only System.map");
  Report report;
  Context c{trace, symbols, code, options, out, report};
  switch (format) {
    case Format::Folded: write_folded(c); break;
    case Format::Perf: write_perf(c); break;
    case Format::Drcov: write_drcov(c); break;
    case Format::Perfetto: write_perfetto(c, false); break;
    case Format::PerfettoProto: write_perfetto(c, true); break;
  }
  return report;
}

}  // namespace xentt::exports
