// xentt/vmi/printk_ring.h: the lockless printk ring buffer of Linux 5.10+
// (kernel/printk/printk_ringbuffer.{h,c}) parsed from copies of its three
// arrays: no guest access here, so the parser runs over any byte image (a
// unit test's, a fuzzer's, or linux_dmesg.h's copy of a guest's ring).
//
// The ring: `count` = 2^count_bits descriptors (`struct prb_desc`: a state
// word = 2 state bits over a 62-bit id, and the lpos range of the record's
// data block) beside `count` infos (`struct printk_info`: seq, ts_nsec,
// text_len, ...), and a data ring of 2^size_bits bytes whose blocks are an
// unsigned long id followed by the text; a block that would cross the end
// starts again at offset 0. Records live from tail_id to head_id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace xentt::vmi {

// Where the parser finds its fields (byte offsets, from the kernel's DWARF).
struct PrintkRingLayout {
  std::size_t desc_size = 24, desc_state_var = 0, desc_begin = 8, desc_next = 16;  // struct prb_desc
  std::size_t info_size = 88, info_seq = 0, info_ts_nsec = 8, info_text_len = 16;  // struct printk_info
};

// The ring as copied: header values and the three arrays, exactly
// 2^count_bits * desc_size, 2^count_bits * info_size and 2^size_bits bytes.
struct PrintkRingImage {
  unsigned count_bits = 0, size_bits = 0;
  std::uint64_t head_id = 0, tail_id = 0;
  std::span<const std::byte> descs, infos, data;
};

struct PrintkRecord {
  std::uint64_t seq = 0;
  std::uint64_t ts_nsec = 0;
  std::string text;  // as logged: no trailing newline, may hold newlines
};

// The most a ring may make us copy (descriptors + infos + text), 64 MiB:
// a guest that claims more gets a BadInput, not an allocation.
inline constexpr std::uint64_t kMaxPrintkRingBytes = 64ull << 20;

// The bytes a ring of these sizes takes; throws BadInput when bits are out
// of range (count_bits > 31, size_bits > 31) or the total is over the cap,
// or the layout's fields do not fit their structs.
std::uint64_t printk_ring_bytes(const PrintkRingLayout& l, unsigned count_bits, unsigned size_bits);

// Ring arithmetic (BITS_PER_LONG = 64), exposed for tests.
namespace prb {
enum class DescState { Reserved = 0, Committed = 1, Finalized = 2, Reusable = 3 };
inline constexpr std::uint64_t kIdMask = ~(3ull << 62);
inline std::uint64_t desc_id(std::uint64_t state_var) { return state_var & kIdMask; }
inline DescState desc_state(std::uint64_t state_var) { return static_cast<DescState>(state_var >> 62); }
// The data block [begin, next) of a record as (offset in the data array,
// length including the 8-byte id), as the kernel's get_data() finds it:
// in one wrap, or wrapped to offset 0. nullopt for a data-less record
// (begin odd), a misaligned or too short block, or lpos values no writer
// makes.
struct Block {
  std::uint64_t offset = 0, size = 0;
};
std::optional<Block> data_block(unsigned size_bits, std::uint64_t begin, std::uint64_t next);
}  // namespace prb

// The finalized records from tail to head, oldest first, as the kernel's
// readers see them: descriptors whose id does not match (overwritten) or
// that are reserved, committed-only (a line still open) or reusable are
// skipped, as are records whose data block is gone (its id no longer the
// descriptor's). Text longer than its block is cut to the block. Throws
// BadInput for a ring no kernel makes: sizes over the cap, arrays of the
// wrong size, head and tail more than `count` ids apart, records whose
// texts add up to more than the data ring (overlapping blocks). Cost: one
// pass over at most 2^count_bits descriptors; allocates at most the data
// ring's size in text.
std::vector<PrintkRecord> parse_printk_ring(const PrintkRingLayout& l, const PrintkRingImage& ring);

// dmesg's lines of one record: "[    1.234567] text", one per line of
// its text (a record of several lines gets the prefix on each, as the
// console prints it), each ending in '\n'. Control characters and bytes
// that are not UTF-8 are escaped (printable(): \t, \xNN), as the text is
// the guest's.
std::string dmesg_lines(const PrintkRecord& r);

}  // namespace xentt::vmi
