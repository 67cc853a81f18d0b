// Fuzz target: a state directory's replay index (ReplayIndex::from_json).
// Bad input throws xentt::Error; what the reader accepts reads back
// unchanged from what the writer makes of it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_contract.h"
#include "xentt/session/replay_index.h"

using namespace xentt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::optional<ReplayIndex> r;
  fuzz::only_errors([&] { r = ReplayIndex::from_json(text, "fuzz/index.json"); });
  if (!r) return 0;
  std::string written = r->to_json();
  try {
    fuzz::require(ReplayIndex::from_json(written, "fuzz/index.json (written back)").to_json() == written,
                  "the index changes when read back");
  } catch (const std::exception& e) {
    fuzz::broken("an index the reader accepted does not read back", e.what());
  }
  return 0;
}
