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
#include <set>
#include <unordered_set>

#include "xentt/tracefmt/bts_file.h"
#include "xentt/symbolize/printer.h"
#include "xentt/symbolize/symbolizer.h"
#include "tool_main.h"
#include "xentt/base/error.h"
#include "xentt/base/interrupt.h"
#include "xentt/session/location.h"
#include "xentt/tracefmt/trace_log.h"
#include "xentt/session/replay_session.h"
#include "xentt/session/vm_symbols.h"

namespace fs = std::filesystem;
using namespace xentt;
using nlohmann::json;

namespace {

struct Options {
  std::string statedir, start, end, output = "trace.bts", log;
  bool symbols = false, lines = false, inlines = false, json = false, quiet = false, one_insn_per_tb = false;
};

// "sym[:brctr]" or "0xADDR[:brctr]": xentt/location.h's syntax without cx
// (a window starts and ends at instructions, not inside a rep).
Location parse_end(const StateDir& sd, const std::string& text) {
  StopPoint sp = parse_stop_point(text);
  if (!sp.location || sp.location->cx)
    throw bad_input("'" + text + "' is not a window end (expected sym[:brctr] or 0xADDR[:brctr])");
  Location loc = *sp.location;
  if (sp.symbol) loc.eip = resolve_symbol(sd, *sp.symbol);
  return loc;
}

// Runs `f`, naming which end of the window an error concerns.
template <typename F>
auto for_end(const char* which, const std::string& text, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("{} {}: {}", which, text, e.what()));
  }
}

int run(const Options& o) {
  stop_on_signals();  // Ctrl-C or kill: quit QEMU, remove its files, exit 1
  StateDir sd = StateDir::open_path(o.statedir);
  Location start = parse_end(sd, o.start), end = parse_end(sd, o.end);
  auto t0 = std::chrono::steady_clock::now();

  SessionOptions so;
  so.one_insn_per_tb = o.one_insn_per_tb;
  auto session = ReplaySession::start(sd, so);
  std::optional<uint64_t> end_icount;
  if (end.brctr) {
    // A brctr stop seeks; find the end first, then trace forward to it.
    end_icount = for_end("end", o.end, [&] { return session->run_until(end).icount; });
    session->run_until(Icount{0});
  }
  Arrival a = for_end("start", o.start, [&] { return session->run_until(start); });
  if (end_icount && *end_icount <= a.icount) {
    throw bad_input(fmt::format("the end {} (icount {}) is not after the start {} (icount {})", o.end, *end_icount,
                                o.start, a.icount));
  }
  fs::path log = o.log.empty() ? fs::path(o.output).replace_extension(".xtl") : fs::path(o.log);
  json header = {{"engine", sd.config().engine}, {"guest_arch", "x86_64"}, {"vcpus", 1},
                 {"vm", sd.name()},             {"start", o.start},      {"end", o.end},
                 {"start_icount", a.icount},    {"start_brctr", a.brctr}};
  session->arm(fs::absolute(log), header.dump());
  Arrival b;
  if (end_icount) {
    session->run_until(Icount{*end_icount});
    b = {*end_icount, session->brctr()};
  } else {
    b = for_end("end", o.end, [&] { return session->run_until(Location{end.eip, {}, {}}); });
  }
  uint64_t written = session->disarm();
  session->close_log();
  session->stop();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // One pass over the log: the .bts file, the distinct functions entered or
  // returned to (each target address resolved once), the symbolized print.
  auto maps = sym::read_symfiles(sd.path().string());
  sym::Symbolizer symbolizer(maps, [](const std::string& w) { fmt::print(stderr, "trace_task: {}\n", w); });
  sym::PrintOptions po;
  po.symbols = true;
  po.lines = o.lines;
  po.inlines = o.inlines;
  sym::RecordPrinter printer(&symbolizer, po);
  std::unordered_set<std::uint64_t> seen_targets;
  std::set<std::string> functions;
  sym::Resolved r;
  std::string text;
  uint64_t index = 0;
  xtl::LogReader reader(fs::absolute(log).string());
  bts::BtsWriter out(o.output, bts::Format::Extended);
  uint64_t n = reader.for_each_branch(0, 0, ~0ull, [&](const xtl::Branch& br) {
    out.write(bts::Record{br.from, br.to, br.brctr});
    if (seen_targets.insert(br.to).second) {
      symbolizer.resolve(br.to, {}, r);
      if (!r.symbol.empty()) functions.emplace(r.symbol);
    }
    if (o.symbols) {
      printer.append(text, index++, {br.from, br.to, 0}, br.brctr);
      if (text.size() > (1 << 20)) {
        fmt::print("{}", text);
        text.clear();
      }
    }
  });
  out.close();
  fmt::print("{}", text);
  if (n != written) throw runtime_error(fmt::format("{}: {} records read back, {} written", log.string(), n, written));
  json summary = {{"records", n},
                  {"start_icount", a.icount},
                  {"start_brctr", a.brctr},
                  {"end_icount", b.icount},
                  {"end_brctr", b.brctr},
                  {"functions", functions.size()},
                  {"seconds", secs},
                  {"bts", o.output},
                  {"log", log.string()}};
  if (o.json) {
    fmt::print("{}\n", summary.dump());
  } else if (!o.quiet) {
    fmt::print(stderr,
               "traced {} -> {}: {} branches (brctr {}..{}, icount {}..{}), {} distinct functions, {:.2f} s\n"
               "  {} (extended .bts), trace log {}\n",
               o.start, o.end, n, a.brctr, b.brctr, a.icount, b.icount, functions.size(), secs, o.output,
               log.string());
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
        app.add_flag("-S,--symbols", o.symbols, "print the trace symbolized (as bts_dump --symbols)");
        app.add_flag("--lines", o.lines, "with --symbols: file:line");
        app.add_flag("--inlines", o.inlines, "with --symbols: inline frames");
        app.add_flag("--json", o.json, "print the summary as JSON on stdout");
        app.add_flag("-q,--quiet", o.quiet, "no summary");
        app.add_flag("--one-insn-per-tb", o.one_insn_per_tb,
                     "ground truth: translate one instruction per block (several times slower)");
      },
      [&] { return run(o); });
}
