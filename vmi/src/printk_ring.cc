#include "xentt/vmi/printk_ring.h"

#include <fmt/format.h>

#include <cstring>

#include "xentt/base/error.h"
#include "xentt/base/printable.h"

namespace xentt::vmi {

namespace {

std::uint64_t le(std::span<const std::byte> s, std::size_t off, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(s[off + i]) << (8 * i);
  return v;
}

}  // namespace

std::uint64_t printk_ring_bytes(const PrintkRingLayout& l, unsigned count_bits, unsigned size_bits) {
  if (count_bits > 31 || size_bits > 31)
    throw bad_input(fmt::format("printk ring: count_bits {} / size_bits {} out of range (a corrupt ring?)",
                                count_bits, size_bits));
  if (l.desc_size < 24 || l.desc_state_var + 8 > l.desc_size || l.desc_begin + 8 > l.desc_size ||
      l.desc_next + 8 > l.desc_size || l.info_seq + 8 > l.info_size || l.info_ts_nsec + 8 > l.info_size ||
      l.info_text_len + 2 > l.info_size || l.info_size > 4096 || l.desc_size > 4096)
    throw bad_input("printk ring: struct prb_desc / printk_info of the debug file have an unexpected layout");
  std::uint64_t count = 1ull << count_bits;
  std::uint64_t total = count * (l.desc_size + l.info_size) + (1ull << size_bits);
  if (total > kMaxPrintkRingBytes)
    throw bad_input(fmt::format("printk ring: {} descriptors and {} bytes of text make {} bytes, more than the {} MiB "
                                "we copy (a corrupt ring?)",
                                count, 1ull << size_bits, total, kMaxPrintkRingBytes >> 20));
  return total;
}

namespace prb {

std::optional<Block> data_block(unsigned size_bits, std::uint64_t begin, std::uint64_t next) {
  if (begin & 1) return std::nullopt;  // data-less (NO_LPOS, or a failed reservation)
  std::uint64_t size = 1ull << size_bits;
  Block b;
  if ((begin >> size_bits) == (next >> size_bits) && begin < next) {
    b = {begin & (size - 1), next - begin};
  } else if (((begin + size) >> size_bits) == (next >> size_bits)) {
    b = {0, next & (size - 1)};  // wrapped: the block starts again at 0
  } else {
    return std::nullopt;
  }
  if ((begin & 7) || (next & 7) || b.size < 8 || b.offset + b.size > size) return std::nullopt;
  return b;
}

}  // namespace prb

std::vector<PrintkRecord> parse_printk_ring(const PrintkRingLayout& l, const PrintkRingImage& ring) {
  printk_ring_bytes(l, ring.count_bits, ring.size_bits);
  std::uint64_t count = 1ull << ring.count_bits;
  std::uint64_t data_size = 1ull << ring.size_bits;
  if (ring.descs.size() != count * l.desc_size || ring.infos.size() != count * l.info_size ||
      ring.data.size() != data_size)
    throw bad_input("printk ring: the copied arrays do not match count_bits/size_bits");
  std::uint64_t head = ring.head_id & prb::kIdMask, tail = ring.tail_id & prb::kIdMask;
  std::uint64_t span = (head - tail) & prb::kIdMask;
  if (span >= count)
    throw bad_input(fmt::format("printk ring: tail id {:#x} and head id {:#x} are {} apart, more than its {} "
                                "descriptors (an inconsistent ring)",
                                tail, head, span, count));
  std::vector<PrintkRecord> out;
  std::uint64_t text_total = 0;
  for (std::uint64_t i = 0; i <= span; ++i) {
    std::uint64_t id = (tail + i) & prb::kIdMask;
    std::uint64_t idx = id & (count - 1);
    std::size_t d = idx * l.desc_size;
    std::uint64_t sv = le(ring.descs, d + l.desc_state_var, 8);
    if (prb::desc_id(sv) != id || prb::desc_state(sv) != prb::DescState::Finalized) continue;
    auto block = prb::data_block(ring.size_bits, le(ring.descs, d + l.desc_begin, 8), le(ring.descs, d + l.desc_next, 8));
    if (!block) continue;
    if (le(ring.data, block->offset, 8) != id) continue;  // the block was reused: the text is gone
    std::size_t info = idx * l.info_size;
    std::uint64_t len = le(ring.infos, info + l.info_text_len, 2);
    if (len > block->size - 8) len = block->size - 8;
    text_total += len;
    if (text_total > data_size)
      throw bad_input(fmt::format("printk ring: its records hold more text than its {} bytes (overlapping blocks, "
                                  "at id {:#x})",
                                  data_size, id));
    PrintkRecord r;
    r.seq = le(ring.infos, info + l.info_seq, 8);
    r.ts_nsec = le(ring.infos, info + l.info_ts_nsec, 8);
    r.text.resize(len);
    std::memcpy(r.text.data(), ring.data.data() + block->offset + 8, len);
    out.push_back(std::move(r));
  }
  return out;
}

std::string dmesg_lines(const PrintkRecord& r) {
  std::string prefix = fmt::format("[{:5}.{:06}] ", r.ts_nsec / 1000000000, (r.ts_nsec % 1000000000) / 1000);
  std::string out;
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = r.text.find('\n', start);
    out += prefix;
    // A guest's bytes: control characters and broken UTF-8 escaped (\xNN), never raw to a terminal.
    out += printable(std::string_view(r.text).substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    out += '\n';
    if (nl == std::string::npos) return out;
    start = nl + 1;
  }
}

}  // namespace xentt::vmi
