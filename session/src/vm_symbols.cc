#include "xentt/session/vm_symbols.h"

#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/session/replay_session.h"
#include "xentt/vmi/inspector.h"

namespace xentt {

std::vector<sym::SymbolMapSpec> symbol_maps(const StateDir& dir) {
  return sym::read_symbol_map_list(dir.file(StateDir::kSymfiles).string(),
                                   "the state directory's symbol-file list (does " + dir.path().string() +
                                       " hold a recording?)");
}

std::vector<sym::SymbolMapSpec> guest_symbol_maps(const StateDir& dir, ReplaySession& session,
                                                  const std::function<void(const std::string&)>& warn,
                                                  std::uint64_t* slide_out) {
  auto maps = symbol_maps(dir);
  if (slide_out) *slide_out = 0;
  vmi::InspectorOptions io;
  io.maps = maps;
  vmi::Inspector insp(session.target(), io);
  try {
    auto moved = insp.relocated_maps(warn);
    if (slide_out) *slide_out = insp.kaslr_slide();
    return moved;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    warn(std::string("the kernel's KASLR slide was not found from the guest (") + e.what() +
         "): kernel addresses are named as linked");
    return maps;
  }
}

uint64_t resolve_symbol(const StateDir& dir, const std::string& name) {
  auto maps = symbol_maps(dir);
  std::string files;
  for (const auto& m : maps) files += (files.empty() ? "" : ", ") + m.path;
  sym::Symbolizer symbolizer(maps, [](const std::string&) {}, /*strict=*/true);
  auto r = symbolizer.find_symbol(name);
  if (!r) throw bad_input(fmt::format("symbol '{}' not found in {}", name, files.empty() ? "no symbol files" : files));
  return r->lo;
}

StopPoint resolve_stop_point(const StateDir& dir, std::string_view text) {
  StopPoint sp = parse_stop_point(text);
  if (sp.symbol) sp.location->eip = resolve_symbol(dir, *sp.symbol);
  return sp;
}

}  // namespace xentt
