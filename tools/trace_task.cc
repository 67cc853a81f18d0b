// trace_task: the branch trace of a window of a recorded VM's execution,
// from one symbol (or address) to another: replay to the start, arm the
// branch-trace plugin, run to the end, disarm; write the window as an
// extended .bts file (and keep the trace log), print a summary.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "bts_symopts.h"
#include "bts_export.h"
#include "tool_main.h"
#include "xentt/base/error.h"
#include "xentt/base/interrupt.h"
#include "xentt/session/process_symbols.h"
#include "xentt/session/replay_session.h"
#include "xentt/session/trace_spaces.h"
#include "xentt/session/trace_window.h"
#include "xentt/session/vm_symbols.h"
#include "xentt/symbolize/printer.h"
#include "xentt/symbolize/symbolizer.h"
#include "xentt/tracefmt/bts_file.h"
#include "xentt/tracefmt/trace_log.h"
#include "xentt/tracefmt/trace_stream.h"

namespace fs = std::filesystem;
using namespace xentt;
using nlohmann::json;

namespace {

struct Options {
  std::string statedir, start, end, output = "trace.bts", log, stream;
  bool symbols = false, lines = false, inlines = false, json = false, quiet = false, one_insn_per_tb = false;
  std::vector<std::string> debug_dirs;
  bool no_demangle = false;
  std::vector<std::string> sysroots;
  bool no_processes = false;
  tools::ExportOptions exports;
};

int run(const Options& o) {
  o.exports.check_unused();
  if (o.exports.wanted()) {
    o.exports.parsed_format();  // bad names fail before any replay
    o.exports.parsed_options();
    if (o.symbols) throw bad_input("--format and --symbols both print the trace: give one");
    if (o.json) throw bad_input("--format prints the trace on stdout, --json the summary: give one");
  }
  stop_on_signals();  // Ctrl-C or kill: quit QEMU, remove its files, exit 1
  StateDir sd = StateDir::open_path(o.statedir);
  TraceWindow window{parse_window_end(sd, o.start), parse_window_end(sd, o.end),
                     fs::absolute(o.log.empty() ? fs::path(o.output).replace_extension(".xtl") : fs::path(o.log))};
  // --stream: the consumer is asked first, so that one that is missing or
  // refuses costs no replay; the log then goes to it frame by frame as the
  // plugin writes it, while the local log is written as always.
  std::optional<xtl::StreamSender> sender;
  if (!o.stream.empty()) {
    fs::path sock = xtl::parse_stream_address("--stream", o.stream);
    sender.emplace(sock, xtl::Hello{"trace_task", window.log.filename().string(),
                                    static_cast<std::uint64_t>(::getpid()), xtl::kFormatVersion});
    // The follower sends the file from its first byte: an older log at this
    // path (replaced by the trace anyway) must not go out before the plugin
    // has truncated it.
    std::error_code ec;
    if (fs::is_regular_file(fs::symlink_status(window.log, ec))) fs::remove(window.log);
    sender->follow(window.log);
  }
  auto t0 = std::chrono::steady_clock::now();
  SessionOptions so;
  so.one_insn_per_tb = o.one_insn_per_tb;
  auto session = ReplaySession::start(sd, so);
  TracedWindow w = window.trace(*session);
  auto warn = [](const std::string& w) { fmt::print(stderr, "trace_task: warning: {}\n", printable(w)); };
  // The maps as the guest has them (a KASLR kernel moved by its slide),
  // read at the window's end, where the guest has been running.
  std::uint64_t slide = 0;
  auto maps = guest_symbol_maps(sd, *session, warn, &slide);
  auto symopts = tools::SymbolOptions::symbolizer_options(o.debug_dirs, o.no_demangle);
  auto files = std::make_shared<sym::SymbolFileCache>(warn, symopts);
  sym::Symbolizer symbolizer(maps, files, warn);
  // The processes whose user-space code the window ran, each named in its
  // own address space (trace_spaces.h says how they are told apart).
  std::vector<SpaceRun> runs;
  if (!o.no_processes) {
    ProcessSymbols processes(o.sysroots, symopts.debug, warn);
    runs = trace_spaces(*session, window.log, slide, symbolizer, processes, warn);
  }
  session->stop();
  std::optional<xtl::StreamSender::Result> streamed;
  if (sender) streamed = sender->finish();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const fs::path& log = window.log;

  // One pass over the log: the .bts file, the distinct functions entered or
  // returned to (each target address resolved once per address space), the
  // symbolized print.
  sym::PrintOptions po;
  po.symbols = true;
  po.lines = o.lines;
  po.inlines = o.inlines;
  // One symbolizer and printer per distinct address space (0: the kernel's
  // maps alone), sharing the loaded files.
  struct Space {
    std::unique_ptr<sym::Symbolizer> own;
    sym::Symbolizer* sym;
    sym::RecordPrinter printer;
    std::unordered_set<std::uint64_t> seen_targets;
  };
  std::vector<Space> spaces;
  spaces.push_back({nullptr, &symbolizer, sym::RecordPrinter(&symbolizer, po), {}});
  std::vector<std::size_t> space_of_run(runs.size(), 0);
  {
    std::map<std::string, std::size_t> by_maps;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      if (runs[i].maps.empty()) continue;
      std::string key;
      for (const auto& m : runs[i].maps) key += sym::format_symmap(m) + "\n";
      auto [it, fresh] = by_maps.try_emplace(key, spaces.size());
      if (fresh) {
        auto own = std::make_unique<sym::Symbolizer>(run_maps(runs[i], maps), files, warn);
        sym::Symbolizer* p = own.get();
        spaces.push_back({std::move(own), p, sym::RecordPrinter(p, po), {}});
      }
      space_of_run[i] = it->second;
    }
  }
  std::size_t run = 0;
  std::set<std::string> functions;
  sym::Resolved r;
  std::string text;
  uint64_t index = 0;
  xtl::LogReader reader(log.string());
  // --format: the kinds and icounts only the log has (9 bytes a record;
  // the records themselves are read back from the .bts file).
  std::vector<xtl::BranchKind> ex_kinds;
  std::vector<std::uint64_t> ex_icounts;
  const bool exporting = o.exports.wanted();
  // The .bts goes to a temporary name first: cut short (Ctrl-C, a full
  // disk), it would read as a whole trace, since .bts files have no trailer.
  fs::path tmp = fs::path(o.output).concat(".tmp." + std::to_string(::getpid()));
  struct RemoveUnlessKept {
    fs::path path;
    bool keep = false;
    ~RemoveUnlessKept() {
      std::error_code ec;
      if (!keep) fs::remove(path, ec);
    }
  } tmp_guard{tmp};
  bts::BtsWriter out(tmp.string(), bts::Format::Extended);
  uint64_t n = reader.for_each_branch(0, 0, ~0ull, [&](const xtl::Branch& br) {
    if ((br.brctr & 0xffff) == 0) throw_if_interrupted();  // Ctrl-C within a second on any log
    out.write(bts::Record{br.from, br.to, br.brctr});
    if (exporting) {
      ex_kinds.push_back(br.kind);
      ex_icounts.push_back(br.icount);
    }
    while (run + 1 < runs.size() && runs[run + 1].first_brctr <= br.brctr) ++run;
    Space& sp = spaces[runs.empty() ? 0 : space_of_run[run]];
    if (sp.seen_targets.insert(br.to).second) {
      sp.sym->resolve(br.to, {}, r);
      if (!r.symbol.empty()) functions.emplace(r.symbol);
    }
    if (o.symbols) {
      sp.printer.append(text, index++, {br.from, br.to, 0}, br.brctr);
      if (text.size() > (1 << 20)) {
        fmt::print("{}", text);
        text.clear();
      }
    }
  });
  out.close();
  if (n != w.records)
    throw runtime_error(fmt::format("{}: {} records read back, {} written", log.string(), n, w.records));
  throw_if_interrupted();
  fs::rename(tmp, o.output);
  tmp_guard.keep = true;
  fmt::print("{}", text);
  if (exporting) {
    std::fflush(stdout);
    auto code = exports::CodeImage::from_maps(maps, warn);
    bts::BtsFile written(o.output);
    exports::Trace t;
    t.name = log.string();
    t.records = written.records();
    t.extended = true;
    t.kinds = ex_kinds;
    t.icounts = ex_icounts;
    o.exports.write(t, symbolizer, *code, "trace_task");
  }
  if (streamed)  // after the .bts: a consumer that went away loses nothing here
    streamed->throw_if_failed(fmt::format("the trace log {} and {} are complete", log.string(), o.output));
  json summary = {{"records", n},
                  {"start_icount", w.start.icount},
                  {"start_brctr", w.start.brctr},
                  {"end_icount", w.end.icount},
                  {"end_brctr", w.end.brctr},
                  {"functions", functions.size()},
                  {"seconds", secs},
                  {"bts", o.output},
                  {"log", log.string()},
                  {"kaslr_slide", slide}};
  json procs = json::array();
  std::set<std::int64_t> pids;
  for (const auto& run : runs) {
    if (!run.user_records) continue;
    json j = {{"first_brctr", run.first_brctr}, {"user_records", run.user_records}, {"pid", run.pid},
              {"comm", run.comm}};
    json m = json::array();
    for (const auto& map : run.maps) m.push_back(sym::format_symmap(map));
    j["code_maps"] = m;
    if (!run.why.empty()) j["why"] = run.why;
    procs.push_back(j);
    if (run.pid >= 0) pids.insert(run.pid);
  }
  summary["process_runs"] = procs;
  if (streamed)
    summary["stream"] = {{"address", streamed->address},
                         {"bytes", streamed->sent},
                         {"saved_as", streamed->receipt.file}};
  if (o.json) {
    fmt::print("{}\n", summary.dump());
  } else if (!o.quiet) {
    fmt::print(stderr,
               "traced {} -> {}: {} branches (brctr {}..{}, icount {}..{}), {} distinct functions, {:.2f} s\n"
               "  {} (extended .bts), trace log {}\n",
               o.start, o.end, n, w.start.brctr, w.end.brctr, w.start.icount, w.end.icount, functions.size(), secs, o.output,
               log.string());
    if (streamed) fmt::print(stderr, "  {}\n", streamed->summary());
    if (slide) fmt::print(stderr, "  kernel addresses named with the KASLR slide {:#x}, found from the guest\n", slide);
    if (!procs.empty())
      fmt::print(stderr, "  user space: {} runs of {} processes, each named in its own address space, read from the guest\n",
                 procs.size(), pids.size());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  return tool_main(
      argc, argv, "trace_task",
      "Trace the guest's branches between two locations of a recorded VM.\n"
      "START and END are symbols or 0xADDR, optionally :BRCTR (without it: the first hit;\n"
      "for END, the first hit after START).",
      [&](CLI::App& app) {
        app.add_option("STATEDIR", o.statedir, "the VM's state directory")->required();
        app.add_option("START", o.start, "start: sym[:brctr] or 0xADDR[:brctr]")->required();
        app.add_option("END", o.end, "end: sym[:brctr] or 0xADDR[:brctr]")->required();
        app.add_option("-o,--output", o.output, "the window as an extended .bts file")->capture_default_str();
        app.add_option("--log", o.log, "the trace log (default: OUTPUT with .xtl)");
        app.add_option("--stream", o.stream,
                       "also send the trace log, as it is written, to the consumer listening at unix:PATH "
                       "(e.g. xentt_savelog)");
        app.add_flag("-S,--symbols", o.symbols, "print the trace symbolized (as bts_dump --symbols)");
        app.add_flag("--lines", o.lines, "with --symbols: file:line");
        app.add_flag("--inlines", o.inlines, "with --symbols: inline frames");
        tools::SymbolOptions::add_naming(app, o.debug_dirs, o.no_demangle);
        app.add_option("--sysroot", o.sysroots,
                       "DIR holds the guest's files (DIR/lib/libc.so.6 for the guest's /lib/libc.so.6): user-space "
                       "code is named from them, each checked against the build-id the guest has mapped; "
                       "repeatable; / and the debug-file directories are tried after them")
            ->allow_extra_args(false);
        app.add_flag("--no-processes", o.no_processes,
                     "do not replay the window a second time to read which process ran each user-space record "
                     "(user-space addresses then print raw)");
        app.add_flag("--json", o.json, "print the summary as JSON on stdout");
        o.exports.add_to(app);
        app.add_flag("-q,--quiet", o.quiet, "no summary");
        app.add_flag("--one-insn-per-tb", o.one_insn_per_tb,
                     "ground truth: translate one instruction per block (several times slower)");
      },
      [&] { return run(o); });
}
