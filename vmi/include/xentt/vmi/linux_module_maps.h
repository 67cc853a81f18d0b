// xentt/vmi/linux_module_maps.h: what it takes to symbolize a Linux guest's
// loaded modules, read from the guest itself: each module's section
// addresses (mod->sect_attrs, what /sys/module/NAME/sections/ shows) and
// its build-id (the GNU note at its .note.gnu.build-id section, in guest
// memory), to match it with a host .ko by build-id.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xentt/symbolize/symbol_file.h"
#include "xentt/vmi/linux_modules.h"
#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

struct ModuleSymbols {
  LinuxModule module;
  sym::SectionAddresses sections;  // empty: not read
  std::string build_id;            // the note's bytes; empty: not read
};

// More sections than this in one module is garbage (a .ko has ~50).
inline constexpr std::uint32_t kMaxModuleSections = 4096;

// The guest's modules with their sections and build-ids. The guest is not
// trusted, and nothing it holds makes this throw: a list that breaks (a
// NULL or unreadable link, a cycle, more than 100000 entries) gives the
// modules before the break and a warning naming the last one read; a
// module whose struct cannot be read is left out, one whose sect_attrs is
// absent, unreadable or implausible (more than kMaxModuleSections) keeps
// no sections, one whose note cannot be read no build-id, each said
// through `warn` naming the module. A kernel whose DWARF has no
// mod->sect_attrs (built without sysfs or kallsyms) or another layout of
// it (6.14's) is said once and gives no sections. Throws BadInput only
// when the DWARF has no module list at all, and Runtime when the engine's
// memory fails. Cost per module: linux_modules()'s reads, one read of its
// section table, one per section name (64 bytes) and one of its note.
std::vector<ModuleSymbols> linux_module_symbols(const EvalContext& cx,
                                                const std::function<void(const std::string&)>& warn);

}  // namespace xentt::vmi
