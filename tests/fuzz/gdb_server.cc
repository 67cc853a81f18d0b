// Fuzz target: a gdb client's bytes into the server's protocol handling
// (RspReader + GdbSession over a fake target), as tt_replay --serve takes
// them from any client. Whatever the bytes: no crash, no exception other
// than a good xentt::Error, every reply a well-formed frame, the shared
// breakpoints exactly those of live sessions.
#include <cstddef>
#include <cstdint>
#include <string>

#include "../unit/debug_fake_target.h"
#include "fuzz_contract.h"
#include "xentt/debug/gdb_server.h"
#include "xentt/debug/rsp.h"

using namespace xentt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  debug::test::FakeTarget t;
  std::multiset<std::uint64_t> bps;
  {
    std::multiset<debug::Watchpoint> wps;
    debug::GdbSession s(debug::GdbSession::Shared{t, &bps, &wps}, [](const std::string& m) { fuzz::check_message(m); });
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // In two pieces, split at the first byte's value: framing must not care.
    std::size_t cut = size ? std::size_t(data[0]) % (size + 1) : 0;
    int polls = 0;
    auto interrupted = [&] { return ++polls % 7 == 0; };
    fuzz::only_errors([&] {
      for (std::string_view piece : {in.substr(0, cut), in.substr(cut)}) {
        if (s.finished()) break;
        std::string out = s.on_bytes(piece, interrupted);
        // What we send parses back as acks and whole packets only.
        debug::RspReader r;
        r.feed(out);
        while (auto e = r.next()) fuzz::require(e->kind != debug::RspEvent::Bad, "the server sent a malformed frame");
        fuzz::require(r.pending() == 0, "the server sent a cut-off frame");
      }
    });
  }
  fuzz::require(bps.empty(), "a session left breakpoints behind");
  return 0;
}
