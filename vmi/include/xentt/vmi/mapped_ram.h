// xentt/vmi/mapped_ram.h: guest-physical memory read straight from the
// engine's RAM file (engine qemu's memory backend), mapped once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "xentt/vm/target.h"
#include "xentt/vmi/guest_memory.h"

namespace xentt::vmi {

// Guest RAM as the paused guest left it: the file of a PhysicalMemory
// mapped read-only and shared (MAP_SHARED), so what we read is what the
// engine's guest has, not a copy of some earlier instant. Reads are memcpy
// over the ranges (RAM split around the PCI hole: guest 0..low at one file
// offset, 4 GiB.. at another).
//
// The engine must not shrink the file while it is mapped (a read of a page
// beyond its end would be SIGBUS); engines only ever keep it whole.
class MappedRam final : public GuestMemory {
 public:
  // Opens and maps `mem.file`. Cost: open, fstat and one mmap (no page is
  // read until used). Throws Runtime naming the file when it cannot be
  // opened or mapped, when it is shorter than the ranges say, or when the
  // ranges are not ascending and disjoint.
  explicit MappedRam(const PhysicalMemory& mem);
  ~MappedRam() override;
  MappedRam(const MappedRam&) = delete;
  MappedRam& operator=(const MappedRam&) = delete;

  // Copies the bytes at guest-physical `addr`. Throws BadInput
  // "guest-physical address 0x..: outside the guest's RAM (reading N bytes
  // at 0x..)" naming the first address outside RAM; nothing is guaranteed
  // about `out` then. Cost: a scan of the (two or three) ranges and a
  // memcpy per range touched; the first touch of a page faults it in.
  void read(std::uint64_t addr, std::span<std::byte> out) const override;
  std::string kind() const override { return "guest-physical"; }

  const std::filesystem::path& file() const { return file_; }
  const std::vector<PhysicalRange>& ranges() const { return ranges_; }

 private:
  std::filesystem::path file_;
  std::vector<PhysicalRange> ranges_;
  const std::byte* base_ = nullptr;  // the whole mapping, file offset 0..
  std::size_t length_ = 0;
};

}  // namespace xentt::vmi
