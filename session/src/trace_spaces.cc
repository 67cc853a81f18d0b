#include "xentt/session/trace_spaces.h"

#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/session/vm_symbols.h"
#include "xentt/tracefmt/trace_log.h"
#include "xentt/vmi/inspector.h"

namespace xentt {

namespace {

constexpr bool user_address(std::uint64_t a) { return a < (1ull << 47); }  // x86-64's lower canonical half

struct RunEnd {
  std::uint64_t icount = 0;  // the run's last user-space record
  bool any = false;
};

// Reads the process current at the replay's position into `run`. `io`:
// the Inspector's options, the same at every pause; the kernel's types,
// once opened, go into it, so their name indexes are built once.
void read_process(ReplaySession& session, vmi::InspectorOptions& io, ProcessSymbols& processes, SpaceRun& run) {
  vmi::Inspector insp(session.target(), io);
  io.types = insp.shared_types();
  GuestProcess p = current_process(insp, processes);
  run.pid = p.pid;
  run.comm = std::move(p.comm);
  run.maps = std::move(p.maps);
}

}  // namespace

std::vector<SpaceRun> trace_spaces(ReplaySession& session, const std::filesystem::path& log,
                                   std::uint64_t slide, sym::Symbolizer& kernel_symbols, ProcessSymbols& processes,
                                   const std::function<void(const std::string&)>& warn, const TraceSpacesOptions& opt) {
  xtl::LogReader reader(log.string());
  std::vector<SpaceRun> runs(1);
  std::vector<RunEnd> ends(1);
  auto vcpus = reader.vcpus();
  if (vcpus.size() > 1) {
    warn(fmt::format("{}: {} vCPUs traced; user-space records are named by process on single-vCPU windows only",
                     log.string(), vcpus.size()));
    return runs;
  }
  auto switch_mm = kernel_symbols.find_symbol("switch_mm_irqs_off");
  if (!switch_mm) return runs;  // not a Linux x86-64 kernel's symbols: one address space
  bool first = true;
  reader.for_each_branch(vcpus.empty() ? 0 : vcpus[0], 0, ~0ull, [&](const xtl::Branch& b) {
    if (first) runs[0].first_brctr = b.brctr, first = false;
    if (user_address(b.from) || user_address(b.to)) {
      ++runs.back().user_records;
      ends.back() = {b.icount, true};
    }
    if (b.to == switch_mm->lo) {
      runs.push_back({});
      runs.back().first_brctr = b.brctr + 1;
      ends.push_back({});
    }
  });
  // The recording's maps as listed (the kernel's DWARF gives the types;
  // module maps, which carry DWARF too, must not come first), moved by the
  // slide already found.
  vmi::InspectorOptions io;
  io.maps = symbol_maps(session.dir());
  io.kaslr_offset = static_cast<std::int64_t>(slide);
  std::size_t pauses = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    SpaceRun& run = runs[i];
    if (!ends[i].any) continue;
    if (++pauses > opt.max_pauses) {
      if (pauses == opt.max_pauses + 1)
        warn(fmt::format("more than {} runs of processes in the window: the user-space records from brctr {} on are "
                         "named without their processes' code",
                         opt.max_pauses, run.first_brctr));
      run.why = "past the pause limit";
      continue;
    }
    session.run_until(Icount{ends[i].icount});
    try {
      read_process(session, io, processes, run);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::BadInput) throw;
      run.why = e.what();
      warn(fmt::format("the process running at icount {} (records from brctr {}) could not be read: {}", ends[i].icount,
                       run.first_brctr, e.what()));
    }
  }
  return runs;
}

std::vector<sym::SymbolMapSpec> run_maps(const SpaceRun& run, const std::vector<sym::SymbolMapSpec>& kernel) {
  std::vector<sym::SymbolMapSpec> out = run.maps;
  out.insert(out.end(), kernel.begin(), kernel.end());
  return out;
}

}  // namespace xentt
