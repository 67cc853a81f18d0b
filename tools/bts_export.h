// bts_export.h: --format NAME and its options for the programs that print
// traces (bts_dump; trace_task), over libxentt-export (docs/exports.md).
// The plain and --symbols printing paths do not come here.
#pragma once

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "bts_output.h"
#include "bts_symopts.h"
#include "xentt/base/error.h"
#include "xentt/export/export.h"
#include "xentt/tracefmt/bts_file.h"

namespace xentt::tools {

class OutputSink : public exports::Sink {
 public:
  explicit OutputSink(Output& o) : o_(o) {}
  void write(std::string_view bytes) override { o_.write(bytes); }

 private:
  Output& o_;
};

struct ExportOptions {
  std::string format, weight = "instructions", flavor = "xentt";

  void add_to(CLI::App& app) {
    app.add_option("--format", format,
                   "write the trace in another tool's format instead: " + exports::format_names() +
                       " (docs/exports.md; needs symbol files)");
    weight_opt_ = app.add_option("--weight", weight, "--format folded: what a stack weighs: instructions, bytes or branches")
                      ->capture_default_str();
    flavor_opt_ = app.add_option("--drcov-flavor", flavor, "--format drcov: the DRCOV FLAVOR line")->capture_default_str();
  }
  bool wanted() const { return !format.empty(); }
  // --weight or --drcov-flavor without --format: a usage error, not ignored.
  void check_unused() const {
    if (wanted()) return;
    if (weight_opt_ && weight_opt_->count()) throw bad_input("--weight is an option of --format folded");
    if (flavor_opt_ && flavor_opt_->count()) throw bad_input("--drcov-flavor is an option of --format drcov");
  }

  // The checked format and options (bad_input for unknown names).
  exports::Format parsed_format() const {
    auto f = exports::parse_format(format);
    if (!f) throw bad_input("unknown --format '" + format + "': the formats are " + exports::format_names());
    return *f;
  }
  exports::Options parsed_options() const {
    auto w = exports::parse_weight(weight);
    if (!w) throw bad_input("unknown --weight '" + weight + "': instructions, bytes or branches");
    exports::Options o;
    o.weight = *w;
    o.flavor = flavor;
    return o;
  }

  // Writes `t` to stdout; reports what could not be done on stderr.
  void write(const exports::Trace& t, sym::Symbolizer& symbols, const exports::CodeImage& code,
             const char* tool) const {
    Output out;
    OutputSink sink(out);
    exports::Report r = exports::write_export(parsed_format(), t, symbols, code, parsed_options(), sink);
    out.flush();
    if (r.undecoded_runs)
      std::cerr << fmt::format(
          "{}: warning: {}: {} of {} runs between records did not decode to the next record (the first from "
          "{:#x}; no code there, or code that changed): {}\n",
          tool, t.name, r.undecoded_runs, r.records, r.first_undecoded,
          format == "drcov" ? "left out" : "each weighs 1 instruction");
    if (r.outside_modules)
      std::cerr << fmt::format("{}: warning: {}: {} blocks in no module with code were left out\n", tool, t.name,
                               r.outside_modules);
  }

  // bts_dump --format: one .bts file.
  int run_bts(const std::vector<std::string>& files, const SymbolOptions& so, bool require_extended,
              const char* tool) const {
    exports::Format f = parsed_format();
    parsed_options();
    if (files.size() != 1)
      throw bad_input(std::string("--format ") + exports::format_name(f) + " writes one trace: give one FILE, not " +
                      std::to_string(files.size()));
    if (!so.any())
      throw bad_input(std::string("--format ") + exports::format_name(f) +
                      " needs symbol files: give -e FILE, --symmap SPEC or -s STATEDIR");
    auto symbolizer = so.make(tool);
    // Files a state directory lists are reported and left out, as the
    // symbolizer does; files named on the command line must load.
    std::function<void(const std::string&)> warn;
    if (!so.statedir.empty())
      warn = [tool](const std::string& w) { std::cerr << tool << ": warning: " << printable(w) << "\n"; };
    auto code = exports::CodeImage::from_maps(symbolizer->maps(), warn);
    bts::BtsFile file(files[0]);
    if (require_extended && file.format() != bts::Format::Extended)
      throw bad_input(files[0] + ": raw .bts file (no extended marker at offset 0) but -x was given");
    exports::Trace t;
    t.name = files[0];
    t.records = file.records();
    t.extended = file.format() == bts::Format::Extended;
    write(t, *symbolizer, *code, tool);
    return 0;
  }

 private:
  CLI::Option* weight_opt_ = nullptr;
  CLI::Option* flavor_opt_ = nullptr;
};

}  // namespace xentt::tools
