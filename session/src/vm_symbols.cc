#include "xentt/session/vm_symbols.h"

#include <fmt/format.h>

#include "xentt/base/error.h"

namespace xentt {

std::vector<sym::SymbolMapSpec> symbol_maps(const StateDir& dir) {
  return sym::read_symbol_map_list(dir.file(StateDir::kSymfiles).string(),
                                   "the state directory's symbol-file list (does " + dir.path().string() +
                                       " hold a recording?)");
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
