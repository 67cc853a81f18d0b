// Fuzz target: a state directory's config.json (VmConfig::from_json).
// Bad input throws xentt::Error; what the reader accepts, the writer
// writes back in a form the reader reads again, unchanged.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_contract.h"
#include "xentt/session/vm_config.h"

using namespace xentt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::optional<VmConfig> c;
  fuzz::only_errors([&] { c = VmConfig::from_json(text, "fuzz/config.json"); });
  if (!c) return 0;
  std::string written = c->to_json();
  try {
    fuzz::require(VmConfig::from_json(written, "fuzz/config.json (written back)").to_json() == written,
                  "config.json changes when read back");
  } catch (const std::exception& e) {
    fuzz::broken("a config the reader accepted does not read back", e.what());
  }
  return 0;
}
