// xentt/export/export.h: branch traces written in the formats of the tools
// users already have (docs/exports.md): folded stacks for flame graphs,
// `perf script` lines, DynamoRIO drcov coverage, Chrome/Perfetto JSON and
// Perfetto's protobuf trace.
//
// Each format is one writer (src/FORMAT.cc); they share the reading of the
// trace: what kind each record is (from the trace when it says, else from
// the instruction at `from`), and the straight-line run of instructions
// that led to it. The writers format only; what to do with the output is
// the caller's.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xentt/export/code_image.h"
#include "xentt/symbolize/symbolizer.h"
#include "xentt/tracefmt/bts_record.h"
#include "xentt/tracefmt/trace_log.h"

namespace xentt::exports {

enum class Format { Folded, Perf, Drcov, Perfetto, PerfettoProto };

// "folded", "perf", "drcov", "perfetto", "perfetto-proto"; nullopt for any other name.
std::optional<Format> parse_format(std::string_view name) noexcept;
const char* format_name(Format f) noexcept;
// The names, for usage messages: "folded, perf, drcov, perfetto, perfetto-proto".
std::string format_names();

// What a folded stack weighs.
enum class Weight {
  Instructions,  // instructions executed (icounts when the trace has them, else decoded from the code)
  Bytes,         // bytes of those instructions
  Branches,      // branch records
};
std::optional<Weight> parse_weight(std::string_view name) noexcept;

// A trace to export: the records, and what the source knows beyond them.
struct Trace {
  std::string name;                            // for messages
  std::span<const bts::Record> records;
  bool extended = false;                       // records[i].format is the brctr
  std::span<const xtl::BranchKind> kinds;      // empty, or one per record (trace logs)
  std::span<const std::uint64_t> icounts;      // empty, or one per record: icount before `to` runs
};

struct Options {
  Weight weight = Weight::Instructions;
  std::string flavor = "xentt";  // drcov: the DRCOV FLAVOR line
};

// Where the output goes, a piece at a time (large pieces: about 1 MB).
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(std::string_view bytes) = 0;
};

// What the writer could not do, for the caller to report (once each).
struct Report {
  std::uint64_t records = 0;
  std::uint64_t undecoded_runs = 0;   // runs whose code was missing or did not decode to the next record
  std::uint64_t outside_modules = 0;  // drcov: blocks in no module (left out)
  std::uint64_t first_undecoded = 0;  // the start address of the first such run
};

// Writes `trace` in `format`. Names come from `symbols`; code bytes (for
// kinds, instruction counts and blocks) from `code`. Throws xentt::Error
// (bad_input) when the trace and the maps cannot make the format at all
// (drcov without any ELF file, a module larger than drcov's 32-bit offsets).
// Cost: one pass over the records (two for folded and perfetto, which find
// the frames the trace started under first), each run decoded once.
Report write_export(Format format, const Trace& trace, sym::Symbolizer& symbols, const CodeImage& code,
                    const Options& options, Sink& out);

}  // namespace xentt::exports
