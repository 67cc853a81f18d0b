// xentt/session/trace_window.h: the branch trace of a window of a
// recording: replay to its start, record every taken branch into a trace
// log (.xtl, docs/trace-log.md) until its end, close the log.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "xentt/session/location.h"
#include "xentt/session/replay_session.h"

namespace xentt {

// One end of a window: a location (eip resolved; brctr optional, never cx:
// a window starts and ends at instructions, not inside a rep) and the text
// the user wrote, which errors and the log's header quote.
struct WindowEnd {
  Location loc;
  std::string text;
};

// "sym[:brctr]" or "0xADDR[:brctr]", the symbol resolved in `dir`. Throws
// BadInput for anything else (icount=N, a cx, an unknown symbol).
WindowEnd parse_window_end(const StateDir& dir, std::string_view text);

struct TracedWindow {
  std::uint64_t records = 0;  // branches in the log
  Arrival start, end;         // where the window began and ended
};

struct TraceWindow {
  WindowEnd start, end;
  std::filesystem::path log;  // written (replaced)

  // Traces the window in `s`. Without a brctr the end is eip's first hit
  // after the start; with one, the end is found first (a brctr stop seeks)
  // and the window must then start before it. The log's header names the
  // VM, the engine, the guest's architecture and vCPU count, both ends and
  // where the start was reached. Errors name the end they concern.
  TracedWindow trace(ReplaySession& s) const;
};

}  // namespace xentt
