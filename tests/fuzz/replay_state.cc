// Fuzz target: a running replay's replay.json (ReplayState::from_json, on
// what json::parse makes of the bytes, as ReplayState::read does). Bad
// input throws xentt::Error; what the reader accepts reads back unchanged.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_contract.h"
#include "xentt/session/replay_state.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  xentt::fuzz::check_round_trip(
      data, size,
      [](const std::string& t) {
        return xentt::ReplayState::from_json(nlohmann::json::parse(t, nullptr, false), "fuzz/replay.json");
      },
      [](const xentt::ReplayState& s) { return s.to_json().dump(); });
  return 0;
}
