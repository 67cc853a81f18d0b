// xentt/vmi/linux_modules.h: the loaded modules of a Linux guest (the
// kernel's `modules` list), read by the DWARF of its kernel, as
// /proc/modules shows them.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

struct LinuxModule {
  std::uint64_t address = 0;  // its struct module
  std::string name;
  // /proc/modules' size and address: 6.4+ the sum of mem[*].size and
  // mem[MOD_TEXT].base; before, core_layout.size + init_layout.size
  // (+ data_layout.size where the kernel has one) and core_layout.base.
  std::uint64_t size = 0, base = 0;
  std::string state;  // "Live", "Loading", "Unloading", "Unformed"
  // Its memory that stays after init, [lo, hi) each: core_layout (and
  // data_layout where the kernel has one); 6.4+ mem[] of text, data,
  // rodata and ro_after_init. Empty parts are left out.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> core;
};

// The modules, most recently loaded first (the list's order). An empty
// list is an answer (a kernel without loaded modules). Throws BadInput
// when the debug file has no `modules` list (not a Linux kernel, or one
// built without modules), on a broken list and on a failed read.
// Cost: one walk step and four small reads per module.
std::vector<LinuxModule> linux_modules(const EvalContext& cx);

}  // namespace xentt::vmi
