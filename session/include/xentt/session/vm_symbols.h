// xentt/session/vm_symbols.h: symbol names of a recorded VM, through the
// symbolizer and the state directory's symbol-map list (symfiles), and
// locations given by name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "xentt/session/location.h"
#include "xentt/session/state_dir.h"
#include "xentt/symbolize/symbolizer.h"

namespace xentt {

// The VM's symbol maps (StateDir::kSymfiles). Throws BadInput naming the
// file when it cannot be read, and the line of a bad spec.
std::vector<sym::SymbolMapSpec> symbol_maps(const StateDir& dir);

// The start address of symbol `name` in the VM's symbol files. Throws
// BadInput naming the symbol and the files searched when it is not found.
// Cost: loads the symbol files' symbol tables (DWARF is loaded lazily).
uint64_t resolve_symbol(const StateDir& dir, const std::string& name);

// parse_stop_point() with a symbol in place of eip resolved in `dir`.
StopPoint resolve_stop_point(const StateDir& dir, std::string_view text);

}  // namespace xentt
