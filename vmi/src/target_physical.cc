#include "xentt/vmi/target_physical.h"

#include "xentt/vmi/mapped_ram.h"

namespace xentt::vmi {

void TargetPhysical::read(std::uint64_t addr, std::span<std::byte> out) const { target_->read_physical(addr, out); }

std::unique_ptr<GuestMemory> physical_memory_of(Target& target) {
  if (auto mem = target.physical_memory()) return std::make_unique<MappedRam>(*mem);
  return std::make_unique<TargetPhysical>(target);
}

}  // namespace xentt::vmi
