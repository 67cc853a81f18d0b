// xentt/symbols.h: symbol names of a recorded VM, through libbts and the
// state directory's symbol-file list (symfiles).
#pragma once

#include <cstdint>
#include <string>

#include "xentt/session/state_dir.h"

namespace xentt {

// The start address of symbol `name` in the VM's symbol files. Throws
// BadInput naming the symbol and the files searched when it is not found.
// Cost: loads the symbol files' symbol tables (DWARF is loaded lazily).
uint64_t resolve_symbol(const StateDir& dir, const std::string& name);

}  // namespace xentt
