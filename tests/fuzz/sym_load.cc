// Fuzz target: loading a symbol file (ELF + DWARF, or a System.map text)
// from arbitrary bytes, then looking up addresses with lines and inline
// frames and names: first as batch tools do (prefetch on two threads, then
// read-only lookups), then one by one (units and function bodies parsed
// on first use). Corrupt input throws xentt::Error or answers nothing
// (fuzz_contract.h).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "xentt/symbolize/symbol_file.h"
#include "fuzz_contract.h"

using namespace xentt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::only_errors([&] {
    auto f = sym::SymbolFile::from_memory({reinterpret_cast<const std::byte*>(data), size}, "fuzz.elf");
    std::vector<sym::Frame> frames;
    // Addresses near every 64th symbol-ish value in the input, plus fixed ones.
    std::vector<std::uint64_t> addrs = {0, 0x401000, 0x401010, 0x1000, ~0ull};
    for (std::size_t i = 0; i + 8 <= size && addrs.size() < 64; i += 64) {
      std::uint64_t v = 0;
      for (int b = 0; b < 8; ++b) v |= std::uint64_t(data[i + static_cast<std::size_t>(b)]) << (8 * b);
      addrs.push_back(v);
    }
    f->prefetch(addrs, 2);
    fuzz::check_message_if_any(f->take_warning());
    for (std::uint64_t a : addrs) f->frames_at_parsed(a, true, frames);
    for (std::uint64_t a : addrs) {
      if (const sym::SymbolRange* s = f->symbol_at(a)) (void)f->find_symbol(s->name);
      f->frames_at(a, true, frames);
      f->frames_at(a, false, frames);
      fuzz::check_message_if_any(f->take_warning());
    }
    (void)f->find_symbol("_start");
  });
  return 0;
}
