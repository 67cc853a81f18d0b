// debug_links.h (internal): reading where an ELF's debug information is
// (build-id note, .gnu_debuglink, .gnu_debugaltlink / .debug_sup).
#pragma once

#include <libelf.h>

#include "xentt/symbolize/debug_file.h"

namespace xentt::sym::detail {

// The links of `elf`; fields stay empty for what it lacks. Reads the
// section headers, the notes and the two small link sections; corrupt
// entries are ignored (as if absent).
DebugLinks read_debug_links(Elf* elf);

// Whether `elf` has DWARF of its own (.debug_info or .zdebug_info with bits).
bool has_debug_info(Elf* elf);

}  // namespace xentt::sym::detail
