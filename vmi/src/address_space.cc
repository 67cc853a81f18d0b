// AddressSpace: walk() behind a direct-mapped translation cache, and reads
// that cross pages.
#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/vmi/page_walk.h"

namespace xentt::vmi {

const PageMapping* AddressSpace::lookup(std::uint64_t vaddr, WalkFault* fault) const {
  std::uint64_t vpage = vaddr >> 12;
  Slot& slot = cache_[vpage % kSlots];
  if (slot.valid && slot.vpage == vpage) return &slot.mapping;
  auto m = walk(*phys_, paging_, vpage << 12, fault);
  if (!m) return nullptr;  // faults are not cached: the guest may map the page before we ask again
  slot.mapping = std::move(*m);
  slot.vpage = vpage;
  slot.valid = true;
  return &slot.mapping;
}

std::optional<PageMapping> AddressSpace::translate(std::uint64_t vaddr, WalkFault* fault) const {
  const PageMapping* m = lookup(vaddr, fault);
  if (!m) return std::nullopt;
  PageMapping r = *m;
  r.vaddr = vaddr;
  r.paddr = m->paddr + (vaddr & 0xfff);
  return r;
}

void AddressSpace::read(std::uint64_t addr, std::span<std::byte> out) const {
  std::uint64_t at = addr;
  std::size_t done = 0;
  while (done < out.size()) {
    WalkFault fault;
    const PageMapping* m = lookup(at, &fault);
    if (!m)
      throw bad_input(fmt::format("guest-virtual address {:#x}: {} (reading {} bytes at {:#x})", at,
                                  fault.describe(paging_.mode), out.size(), addr));
    // The page is contiguous in guest-physical memory: read to its end at once.
    std::uint64_t left_in_page = m->page_size - (at & (m->page_size - 1));
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size() - done, left_in_page));
    try {
      phys_->read(m->paddr + (at & 0xfff), out.subspan(done, n));
    } catch (const Error& e) {
      throw Error(e.kind(), fmt::format("guest-virtual address {:#x} (reading {} bytes at {:#x}): {}", at, out.size(),
                                        addr, e.what()));
    }
    done += n;
    at += n;  // wraps at 2^64 as the CPU's linear addresses do; `done` bounds the loop
  }
}

void AddressSpace::drop_cache() const {
  for (auto& slot : cache_) slot.valid = false;
}

}  // namespace xentt::vmi
