// Fuzz target: a running replay's replay.json (ReplayState::from_json, on
// what json::parse makes of the bytes, as ReplayState::read does). Bad
// input throws xentt::Error; what the reader accepts reads back unchanged.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_contract.h"
#include "xentt/session/replay_state.h"

using namespace xentt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  std::optional<ReplayState> s;
  fuzz::only_errors([&] { s = ReplayState::from_json(j, "fuzz/replay.json"); });
  if (!s) return 0;
  std::string written = s->to_json().dump();
  try {
    auto back = ReplayState::from_json(nlohmann::json::parse(written), "fuzz/replay.json (written back)");
    fuzz::require(back.to_json().dump() == written, "replay.json changes when read back");
  } catch (const std::exception& e) {
    fuzz::broken("a replay state the reader accepted does not read back", e.what());
  }
  return 0;
}
