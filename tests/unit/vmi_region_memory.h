// vmi_region_memory.h (tests): guest-virtual memory made of regions the
// test writes, for VMI views over a real kernel's DWARF fed with guest
// structures laid out by hand (garbage included).
#pragma once

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "xentt/base/error.h"
#include "xentt/vmi/guest_memory.h"

namespace xentt::test {

// Guest-virtual memory made of regions written by the test; anything else
// is unreadable, as a guest's garbage pointers are.
class RegionMemory final : public vmi::GuestMemory {
 public:
  void read(std::uint64_t addr, std::span<std::byte> out) const override {
    if (out.empty()) return;  // memcpy from/to a null span is undefined, even for 0 bytes
    auto it = regions.upper_bound(addr);
    if (it != regions.begin()) {
      --it;
      std::uint64_t off = addr - it->first;
      if (off <= it->second.size() && out.size() <= it->second.size() - off) {
        std::memcpy(out.data(), it->second.data() + off, out.size());
        return;
      }
    }
    throw bad_input(fmt::format("guest-virtual address {:#x}: not mapped", addr));
  }
  std::string kind() const override { return "guest-virtual"; }
  std::vector<std::byte>& region(std::uint64_t at, std::size_t size) {
    auto& r = regions[at];
    r.resize(size);
    return r;
  }
  void put(std::uint64_t at, const void* p, std::size_t n) {
    auto it = --regions.upper_bound(at);
    std::memcpy(it->second.data() + (at - it->first), p, n);
  }
  void put64(std::uint64_t at, std::uint64_t v) { put(at, &v, 8); }
  void put32(std::uint64_t at, std::uint32_t v) { put(at, &v, 4); }
  std::map<std::uint64_t, std::vector<std::byte>> regions;
};

}  // namespace xentt::test
