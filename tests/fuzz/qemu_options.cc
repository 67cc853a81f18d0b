// Fuzz target: engine qemu's section of config.json
// (QemuOptions::from_json). Bad input throws xentt::Error; what the reader
// accepts reads back unchanged from what the writer makes of it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_contract.h"
#include "vm/qemu/qemu_options.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  xentt::fuzz::check_round_trip(
      data, size,
      [](const std::string& t) {
        return xentt::qemu::QemuOptions::from_json(nlohmann::json::parse(t, nullptr, false), "fuzz/config.json");
      },
      [](const xentt::qemu::QemuOptions& o) { return o.to_json().dump(); });
  return 0;
}
