// Fuzz target: x86 page-table walks (xentt/vmi/page_walk.h) over guest
// RAM the input fills: the guest owns its page tables, so they are hostile.
// translate() and read() return or throw xentt::Error with a one-line
// message; a cached translation equals a fresh walk; bytes read through
// the address space equal the physical bytes of the page it translated to.
//
// Input (little-endian), see tests/fuzz/page_walk/make_seeds.py:
//   u8 mode (% 5: off, 32-bit, PAE, 4-level, 5-level), u8 flags (1: NXE,
//   2: PSE, 4: drop the cache before each query), u64 cr3,
//   u32 low RAM bytes (guest 0..), u32 high RAM bytes (guest 4 GiB..),
//   u8 queries (% 8), each u64 vaddr + u16 length (% 0x2000),
//   then (u64 paddr, u64 value) pairs written into RAM (zero elsewhere).
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "fuzz_contract.h"
#include "xentt/vmi/page_walk.h"

using namespace xentt;
using namespace xentt::vmi;

namespace {

struct Input {
  const std::uint8_t* p;
  std::size_t left;
  std::uint64_t take(unsigned bytes) {  // 0 past the end
    std::uint64_t v = 0;
    for (unsigned i = 0; i < bytes && left; ++i, ++p, --left) v |= std::uint64_t{*p} << (8 * i);
    return v;
  }
};

// Sparse RAM split around the PCI hole like engine qemu's: [0, low) and
// [4 GiB, 4 GiB + high), zero except the words the input wrote.
class SparseRam final : public GuestMemory {
 public:
  SparseRam(std::uint64_t low, std::uint64_t high) : low_(low), high_(high) {}
  void poke(std::uint64_t addr, std::uint64_t v) { words_[addr & ~std::uint64_t{7}] = v; }
  void read(std::uint64_t addr, std::span<std::byte> out) const override {
    std::uint64_t at = addr;
    for (auto& b : out) {
      if (!(at < low_ || (at >= kHigh && at - kHigh < high_))) {
        char m[128];
        std::snprintf(m, sizeof m, "guest-physical address %#llx: outside the guest's RAM (reading %zu bytes at %#llx)",
                      static_cast<unsigned long long>(at), out.size(), static_cast<unsigned long long>(addr));
        throw bad_input(m);
      }
      auto w = words_.find(at & ~std::uint64_t{7});
      b = std::byte{static_cast<unsigned char>(w == words_.end() ? 0 : w->second >> (8 * (at & 7)))};
      ++at;
    }
  }
  std::string kind() const override { return "guest-physical"; }

 private:
  static constexpr std::uint64_t kHigh = std::uint64_t{1} << 32;
  std::uint64_t low_, high_;
  std::map<std::uint64_t, std::uint64_t> words_;
};

bool same(const PageMapping& a, const PageMapping& b) {
  return a.vaddr == b.vaddr && a.paddr == b.paddr && a.page_size == b.page_size && a.writable == b.writable &&
         a.user == b.user && a.nx == b.nx && a.global == b.global && a.entries == b.entries;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{data, size};
  Paging paging;
  paging.mode = static_cast<PagingMode>(in.take(1) % 5);
  unsigned flags = static_cast<unsigned>(in.take(1));
  paging.nxe = flags & 1;
  paging.pse = flags & 2;
  paging.cr3 = in.take(8);
  std::uint64_t low = in.take(4), high = in.take(4);
  unsigned queries = static_cast<unsigned>(in.take(1) % 8);
  std::vector<std::pair<std::uint64_t, std::size_t>> asks;
  for (unsigned i = 0; i < queries; ++i) {
    std::uint64_t vaddr = in.take(8);
    asks.emplace_back(vaddr, static_cast<std::size_t>(in.take(2) % 0x2000));
  }
  SparseRam ram(low, high);
  while (in.left) {
    std::uint64_t addr = in.take(8);
    ram.poke(addr, in.take(8));
  }

  AddressSpace as(ram, paging);
  for (const auto& ask : asks) {
    std::uint64_t vaddr = ask.first;  // not a structured binding: clang 14 cannot capture one
    std::size_t len = ask.second;
    if (flags & 4) as.drop_cache();
    std::optional<PageMapping> m;
    WalkFault fault;
    fuzz::only_errors([&] { m = as.translate(vaddr, &fault); });
    if (m) {
      fuzz::require(m->vaddr == vaddr, "translate answers for another address");
      std::uint64_t ps = m->page_size;
      fuzz::require(ps == 0x1000 || ps == 0x200000 || ps == 0x400000 || ps == 0x40000000, "odd page size");
      fuzz::require((m->paddr & (ps - 1)) == (vaddr & (ps - 1)), "the offset in the page changed");
      fuzz::require(m->entries.size() <= 5, "more entries than levels");
      auto again = as.translate(vaddr);  // a hit now
      fuzz::require(again && same(*again, *m), "a cached translation differs from the walk");
      auto fresh = walk(ram, paging, vaddr);
      fuzz::require(fresh && same(*fresh, *m), "translate differs from a fresh walk");
    } else {
      std::string why;
      fuzz::only_errors([&] { why = fault.describe(paging.mode); });
      fuzz::check_message_if_any(why);
    }
    std::string bytes;
    bool read_ok = false;
    fuzz::only_errors([&] {
      bytes = as.read_bytes(vaddr, len);
      read_ok = true;
    });
    if (read_ok && m && len > 0) {
      std::size_t first = static_cast<std::size_t>(
          std::min<std::uint64_t>(len, m->page_size - (vaddr & (m->page_size - 1))));
      std::string direct(first, '\0');
      ram.read(m->paddr, std::as_writable_bytes(std::span(direct.data(), direct.size())));
      fuzz::require(bytes.compare(0, first, direct) == 0, "bytes read virtually differ from the physical page's");
    }
  }
  return 0;
}
