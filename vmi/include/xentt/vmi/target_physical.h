// xentt/vmi/target_physical.h: guest-physical memory of any Target, and the
// cheapest way to read it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "xentt/vm/target.h"
#include "xentt/vmi/guest_memory.h"

namespace xentt::vmi {

// Guest-physical memory read through Target::read_physical: for engines
// that keep no RAM file (a live Xen domU). The target must outlive it.
// Cost: whatever the engine's read_physical costs per call (the default
// opens the RAM file and preads per call), so a page walk over it pays that
// once per table entry: prefer MappedRam where there is a RAM file.
class TargetPhysical final : public GuestMemory {
 public:
  explicit TargetPhysical(Target& target) : target_(&target) {}
  // Throws what the target throws: BadInput naming an address outside RAM,
  // Runtime when the engine cannot read.
  void read(std::uint64_t addr, std::span<std::byte> out) const override;
  std::string kind() const override { return "guest-physical"; }

 private:
  Target* target_;
};

// The guest-physical memory of `target`: its RAM file mapped (MappedRam)
// when it has one, else read through the target (TargetPhysical). The
// target must outlive it. Throws what MappedRam's constructor throws.
std::unique_ptr<GuestMemory> physical_memory_of(Target& target);

// A target's RAM as its kernel numbers it (Target::read_ram): what a
// vmcore is written from. The same bytes as the physical memory except on
// a Xen PV guest.
class TargetRam final : public GuestMemory {
 public:
  explicit TargetRam(Target& target) : target_(&target) {}
  void read(std::uint64_t addr, std::span<std::byte> out) const override { target_->read_ram(addr, out); }
  std::string kind() const override { return "guest RAM"; }

 private:
  Target* target_;
};

}  // namespace xentt::vmi
