// Fuzz target: engine qemu's section of config.json
// (QemuOptions::from_json). Bad input throws xentt::Error; what the reader
// accepts reads back unchanged from what the writer makes of it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_contract.h"
#include "vm/qemu/qemu_options.h"

using namespace xentt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  std::optional<qemu::QemuOptions> o;
  fuzz::only_errors([&] { o = qemu::QemuOptions::from_json(j, "fuzz/config.json"); });
  if (!o) return 0;
  std::string written = o->to_json().dump();
  try {
    auto back = qemu::QemuOptions::from_json(nlohmann::json::parse(written), "fuzz (written back)");
    fuzz::require(back.to_json().dump() == written, "qemu settings change when read back");
  } catch (const std::exception& e) {
    fuzz::broken("qemu settings the reader accepted do not read back", e.what());
  }
  return 0;
}
