// Fuzz target: a state directory's replay index (ReplayIndex::from_json).
// Bad input throws xentt::Error; what the reader accepts reads back
// unchanged from what the writer makes of it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_contract.h"
#include "xentt/session/replay_index.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  xentt::fuzz::check_round_trip(
      data, size, [](const std::string& t) { return xentt::ReplayIndex::from_json(t, "fuzz/index.json"); },
      [](const xentt::ReplayIndex& r) { return r.to_json(); });
  return 0;
}
