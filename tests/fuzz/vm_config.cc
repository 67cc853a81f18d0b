// Fuzz target: a state directory's config.json (VmConfig::from_json).
// Bad input throws xentt::Error; what the reader accepts, the writer
// writes back in a form the reader reads again, unchanged.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_contract.h"
#include "xentt/session/vm_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  xentt::fuzz::check_round_trip(
      data, size, [](const std::string& t) { return xentt::VmConfig::from_json(t, "fuzz/config.json"); },
      [](const xentt::VmConfig& c) { return c.to_json(); });
  return 0;
}
