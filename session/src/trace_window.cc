#include "xentt/session/trace_window.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "xentt/base/error.h"
#include "xentt/session/vm_symbols.h"

namespace xentt {
namespace fs = std::filesystem;
using nlohmann::json;

WindowEnd parse_window_end(const StateDir& dir, std::string_view text) {
  StopPoint sp = parse_stop_point(text);
  if (!sp.location || sp.location->cx)
    throw bad_input("'" + std::string(text) + "' is not a window end (expected sym[:brctr] or 0xADDR[:brctr])");
  if (sp.symbol) sp.location->eip = resolve_symbol(dir, *sp.symbol);
  return {*sp.location, std::string(text)};
}

namespace {
// Runs `f`, naming which end of the window an error concerns.
template <typename F>
auto for_end(const char* which, const WindowEnd& e, F&& f) {
  try {
    return f();
  } catch (const Error& err) {
    throw Error(err.kind(), fmt::format("{} {}: {}", which, e.text, err.what()));
  }
}
}  // namespace

TracedWindow TraceWindow::trace(ReplaySession& s) const {
  std::optional<uint64_t> end_icount;
  if (end.loc.brctr) {
    // A brctr stop seeks; find the end first, then trace forward to it.
    end_icount = for_end("end", end, [&] { return s.run_until(end.loc).icount; });
    s.run_until(Icount{0});
  }
  TracedWindow w;
  w.start = for_end("start", start, [&] { return s.run_until(start.loc); });
  if (end_icount && *end_icount <= w.start.icount) {
    throw bad_input(fmt::format("the end {} (icount {}) is not after the start {} (icount {})", end.text, *end_icount,
                                start.text, w.start.icount));
  }
  ReplayTarget& t = s.target();
  json header = {{"engine", t.engine()},           {"guest_arch", t.arch()},  {"vcpus", t.vcpus()},
                 {"vm", s.dir().name()},           {"start", start.text},     {"end", end.text},
                 {"start_icount", w.start.icount}, {"start_brctr", w.start.brctr}};
  s.arm(fs::absolute(log), header.dump());
  if (end_icount) {
    s.run_until(Icount{*end_icount});
    w.end = {*end_icount, s.brctr()};
  } else {
    w.end = for_end("end", end, [&] { return s.run_until(Location{end.loc.eip, {}, {}}); });
  }
  w.records = s.disarm();
  s.close_log();
  return w;
}

}  // namespace xentt
