// Fuzz target: the printk ring parser (xentt/vmi/printk_ring.h): the
// guest writes its ring, so descriptors, infos, ids and lpos values are
// hostile. parse_printk_ring() returns or throws xentt::Error with a
// one-line message; the text it returns never adds up to more than the
// data ring, and every record's text fits in the data ring.
//
// Input (little-endian), see tests/fuzz/printk_ring/make_seeds.py:
//   u8 count_bits (% 8), u8 size_bits (% 13), u64 head_id, u64 tail_id,
//   then the descriptors (2^count_bits * 24 bytes, 6.1's struct prb_desc),
//   the infos (2^count_bits * 88, struct printk_info) and the data ring
//   (2^size_bits), in that order, zero past the input's end.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_contract.h"
#include "xentt/vmi/printk_ring.h"

using namespace xentt;
using namespace xentt::vmi;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 18) return 0;
  PrintkRingLayout l;
  unsigned count_bits = data[0] % 8, size_bits = data[1] % 13;
  std::uint64_t head = 0, tail = 0;
  std::memcpy(&head, data + 2, 8);
  std::memcpy(&tail, data + 10, 8);
  std::size_t count = std::size_t{1} << count_bits;
  std::vector<std::byte> bytes(count * (l.desc_size + l.info_size) + (std::size_t{1} << size_bits));
  std::memcpy(bytes.data(), data + 18, std::min(bytes.size(), size - 18));
  std::span<const std::byte> all(bytes);
  PrintkRingImage ring{count_bits, size_bits, head, tail, all.first(count * l.desc_size),
                       all.subspan(count * l.desc_size, count * l.info_size),
                       all.subspan(count * (l.desc_size + l.info_size))};
  fuzz::only_errors([&] {
    std::size_t total = 0;
    for (const auto& r : parse_printk_ring(l, ring)) {
      total += r.text.size();
      fuzz::require(!dmesg_lines(r).empty(), "a record without a line");
    }
    fuzz::require(total <= (std::size_t{1} << size_bits), "more text than the data ring holds");
  });
  return 0;
}
