// Fuzz target: the .bts reader and the record printer on arbitrary bytes.
// Any input must either parse or throw xentt::Error (fuzz_contract.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "xentt/tracefmt/bts_file.h"
#include "xentt/symbolize/printer.h"
#include "fuzz_contract.h"

using namespace xentt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::only_errors([&] {
    bts::BtsFile f({reinterpret_cast<const std::byte*>(data), size}, "fuzz.bts");
    sym::PrintOptions po;
    po.json = size & 1;
    po.flags = true;
    sym::RecordPrinter printer(nullptr, po);
    std::string out;
    for (std::size_t i = 0; i < f.size(); ++i) {
      printer.append(out, i, {f.records()[i].from, f.records()[i].to, f.records()[i].format}, f.brctr(i));
      (void)f.offset_of(i);
    }
  });
  return 0;
}
