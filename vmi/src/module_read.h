// module_read.h (internal): reading one `struct module` of a Linux guest,
// shared by the module list (linux_modules.cc) and the symbol maps of the
// modules (linux_module_maps.cc).
#pragma once

#include <cstdint>

#include "xentt/vmi/linux_modules.h"

namespace xentt::vmi::detail {

// Which `struct module` this kernel has (6.4+'s mem[] or the layouts
// before it). Throws BadInput when the DWARF has no `modules` list. Costs
// a few member lookups.
struct ModuleShape {
  const sym::Type* type = nullptr;
  std::uint64_t head = 0;  // &modules, slid
  bool mem = false;        // 6.4+: struct module_memory mem[MOD_MEM_NUM_TYPES]
  bool data_layout = false;
  std::uint64_t mem_types = 0;
};
ModuleShape module_shape(const EvalContext& cx);

// The module at `mod`: its name, size, base, state and core memory.
// Throws BadInput naming the field on a failed read. Cost: a handful of
// small reads.
LinuxModule read_module(const EvalContext& cx, const ModuleShape& shape, std::uint64_t mod);

}  // namespace xentt::vmi::detail
