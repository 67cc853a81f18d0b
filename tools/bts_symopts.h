// bts_symopts.h: the symbol-map options bts_dump and tt_symbolize share
// (-e FILE, --symmap FILE[@lo-hi[+bias]][:prefix], -s STATEDIR) and the
// output options (--lines, --inlines, --json).
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "xentt/symbolize/symbolizer.h"
#include "xentt/base/error.h"

namespace xentt::tools {

struct SymbolOptions {
  std::string exe;                   // -e
  std::vector<std::string> symmaps;  // --symmap (repeatable)
  std::string statedir;              // -s

  void add_to(CLI::App& app) {
    app.add_option("-e,--exe", exe, "one symbol file (ELF or System.map) for every address, as addr2line -e");
    app.add_option("--symmap", symmaps,
                   "FILE[@lo-hi[+bias]][:prefix]: FILE symbolizes addresses in [lo,hi) (hex) at address-bias, "
                   "names printed after prefix; repeatable, first match wins")
        ->allow_extra_args(false);
    app.add_option("-s,--statedir", statedir, "take the symbol maps from STATEDIR/symfiles");
  }

  bool any() const { return !exe.empty() || !symmaps.empty() || !statedir.empty(); }

  // Builds the symbolizer: files the user named fail hard (exit 2), files
  // a state directory lists are reported once and print raw.
  std::unique_ptr<sym::Symbolizer> make(const char* tool) const {
    std::vector<sym::SymbolMapSpec> maps;
    if (!exe.empty()) maps.push_back(sym::parse_symmap(exe, {}, "-e"));
    for (const auto& s : symmaps) maps.push_back(sym::parse_symmap(s));
    bool strict = statedir.empty();
    if (!statedir.empty()) {
      // StateDir::kSymfiles: spelled here because these tools link no
      // session code (tests/layering checks that they do not).
      auto more = sym::read_symbol_map_list(statedir + "/symfiles", "the state directory's symbol-file list (does " +
                                                                        statedir + " hold a recording?)");
      maps.insert(maps.end(), more.begin(), more.end());
    }
    if (maps.empty()) throw xentt::bad_input("no symbol files: give -e FILE, --symmap SPEC or -s STATEDIR");
    std::string name = tool;
    return std::make_unique<sym::Symbolizer>(
        std::move(maps), [name](const std::string& w) { std::cerr << name << ": warning: " << printable(w) << "\n"; },
        strict);
  }
};

}  // namespace xentt::tools
