#include "xentt/session/vm_symbols.h"

#include <fmt/format.h>

#include "xentt/symbolize/symbolizer.h"
#include "xentt/base/error.h"

namespace xentt {

uint64_t resolve_symbol(const StateDir& dir, const std::string& name) {
  auto maps = sym::read_symfiles(dir.path().string());
  std::string files;
  for (const auto& m : maps) files += (files.empty() ? "" : ", ") + m.path;
  sym::Symbolizer symbolizer(maps, [](const std::string&) {}, /*strict=*/true);
  auto r = symbolizer.find_symbol(name);
  if (!r) throw bad_input(fmt::format("symbol '{}' not found in {}", name, files.empty() ? "no symbol files" : files));
  return r->lo;
}

}  // namespace xentt
