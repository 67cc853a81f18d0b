// xentt/session/vm_symbols.h: symbol names of a recorded VM, through the
// symbolizer and the state directory's symbol-map list (symfiles), and
// locations given by name.
#pragma once

#include <cstdint>
#include <functional>
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

class ReplaySession;

// The VM's symbol maps as the guest has them at the session's instant: the
// kernel's map (the file whose DWARF gives the kernel's types: a Linux
// vmlinux) moved by the KASLR slide found from the guest itself
// (vmi/kaslr.h); the other maps as listed. `slide` gets the slide (0 when
// the kernel is not relocated or is not Linux). A slide that cannot be
// found (the guest not booted that far, its memory garbage) is said
// through `warn` and the maps stay as listed. Cost: the kernel's DWARF
// types opened (about a second for a distribution vmlinux) and a few
// guest reads.
std::vector<sym::SymbolMapSpec> guest_symbol_maps(const StateDir& dir, ReplaySession& session,
                                                  const std::function<void(const std::string&)>& warn,
                                                  std::uint64_t* slide = nullptr);

// The start address of symbol `name` in the VM's symbol files. Throws
// BadInput naming the symbol and the files searched when it is not found.
// Cost: loads the symbol files' symbol tables (DWARF is loaded lazily).
uint64_t resolve_symbol(const StateDir& dir, const std::string& name);

// parse_stop_point() with a symbol in place of eip resolved in `dir`.
StopPoint resolve_stop_point(const StateDir& dir, std::string_view text);

}  // namespace xentt
