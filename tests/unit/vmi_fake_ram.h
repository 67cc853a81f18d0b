// Guest-physical memory for the vmi unit tests: a vector of bytes at guest
// 0.., with page tables built into it by hand (PageTables).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/vmi/guest_memory.h"

namespace xentt::test {

class FakeRam final : public vmi::GuestMemory {
 public:
  explicit FakeRam(std::size_t bytes) : mem(bytes) {}
  void read(std::uint64_t addr, std::span<std::byte> out) const override {
    ++reads;
    if (addr > mem.size() || out.size() > mem.size() - addr)
      throw bad_input(fmt::format("guest-physical address {:#x}: outside the guest's RAM", std::max<std::uint64_t>(addr, mem.size())));
    std::memcpy(out.data(), mem.data() + addr, out.size());
  }
  std::string kind() const override { return "guest-physical"; }

  void put64(std::uint64_t addr, std::uint64_t v) { std::memcpy(mem.data() + addr, &v, 8); }
  void put32(std::uint64_t addr, std::uint32_t v) { std::memcpy(mem.data() + addr, &v, 4); }
  void put_bytes(std::uint64_t addr, const std::string& s) { std::memcpy(mem.data() + addr, s.data(), s.size()); }

  std::vector<std::byte> mem;
  mutable int reads = 0;  // read() calls: what a cache hit must not add to
};

// Entry bits.
inline constexpr std::uint64_t P = 1, W = 2, U = 4, PS = 0x80, G = 0x100, NX = std::uint64_t{1} << 63;

// PAE / IA-32e tables (8-byte entries) built in a FakeRam: tables are
// taken from `next_table` on, one 4 KiB page each.
struct PageTables {
  FakeRam& ram;
  int top;  // 5, 4 (IA-32e) or 3 (PAE)
  std::uint64_t next_table;
  std::uint64_t root = alloc();

  std::uint64_t alloc() {
    std::uint64_t t = next_table;
    next_table += 0x1000;
    return t;
  }
  static unsigned index(std::uint64_t vaddr, int level, int top) {
    unsigned shift = 12 + 9 * static_cast<unsigned>(level - 1);
    return static_cast<unsigned>((vaddr >> shift) & (top == 3 && level == 3 ? 3 : 0x1ff));
  }
  // The address of `vaddr`'s entry at `level`, making the tables above it
  // (their entries: `table_flags`) where there are none yet.
  std::uint64_t entry_addr(std::uint64_t vaddr, int level, std::uint64_t table_flags = P | W | U) {
    std::uint64_t table = root;
    for (int l = top; l > level; --l) {
      std::uint64_t at = table + index(vaddr, l, top) * 8;
      std::uint64_t e = ram.read_u64(at);
      if (!(e & P)) {
        e = alloc() | (top == 3 && l == 3 ? P : table_flags);  // a PAE PDPTE has no rights bits
        ram.put64(at, e);
      }
      table = e & 0x000ffffffffff000;
    }
    return table + index(vaddr, level, top) * 8;
  }
  // Maps `vaddr` to `paddr` with a leaf at `level` (1: 4 KiB, 2: 2 MiB
  // with PS, 3: 1 GiB with PS).
  void map(std::uint64_t vaddr, std::uint64_t paddr, int level = 1, std::uint64_t flags = P | W | U) {
    ram.put64(entry_addr(vaddr, level), paddr | flags | (level > 1 ? PS : 0));
  }
};

}  // namespace xentt::test
