// xentt/session/trace_spaces.h: which process each record of a traced
// window ran in, and that process's code, from the guest itself.
//
// How processes are told apart: on x86-64 Linux every change of address
// space (a context switch to another mm, exec's new mm, a kernel thread
// borrowing one) goes through switch_mm_irqs_off(), and the kernel's own
// branches are in the trace. A record whose target is that function ends
// one run of an address space; the user-space records up to the next such
// record ran in one process. For each run that has user-space records,
// a second replay pauses at its last user-space record (so the libraries
// ld.so mapped during the run are there) and reads the current task, its
// VMAs and the build-ids of its mapped files (vmi/process_images.h).
// Single-vCPU windows; a run's records are named in the address space it
// had at its last user-space record (code unmapped before then is not
// named).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "xentt/session/process_symbols.h"
#include "xentt/session/replay_session.h"
#include "xentt/symbolize/symbolizer.h"

namespace xentt {

// One run of an address space within the window.
struct SpaceRun {
  std::uint64_t first_brctr = 0;  // the run's records: brctr >= this (and below the next run's)
  std::uint64_t user_records = 0;
  // The process, read at the run's last user-space record; pid -1 when it
  // could not be read (`why`).
  std::int64_t pid = -1;
  std::string comm, why;
  std::vector<sym::SymbolMapSpec> maps;  // its code (user space only)
};

struct TraceSpacesOptions {
  // At most this many replay pauses (one per run with user-space records);
  // runs past it are named without their process's code (and said once).
  std::size_t max_pauses = 512;
};

// The runs of the window traced into `log`, in order, from a replay
// `session` (any position: it seeks). `slide` is the kernel's KASLR slide
// (guest_symbol_maps()), `kernel_symbols` a Symbolizer of the kernel's
// maps as the guest has them, to find switch_mm_irqs_off; a kernel
// without it (not Linux, or no symbols) gives one run and no pauses.
// Throws what the replay throws; a process that cannot be read is a
// warning (the run keeps pid -1).
std::vector<SpaceRun> trace_spaces(ReplaySession& session, const std::filesystem::path& log,
                                   std::uint64_t slide, sym::Symbolizer& kernel_symbols, ProcessSymbols& processes,
                                   const std::function<void(const std::string&)>& warn,
                                   const TraceSpacesOptions& opt = {});

// The runs' maps put before `kernel`'s (user ranges are bounded; a kernel
// map may cover every address): what a Symbolizer for one run is given.
std::vector<sym::SymbolMapSpec> run_maps(const SpaceRun& run, const std::vector<sym::SymbolMapSpec>& kernel);

}  // namespace xentt
