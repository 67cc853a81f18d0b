// bts_symopts.h: the symbol-map options bts_dump and tt_symbolize share
// (-e FILE, --symmap FILE[@lo-hi[+bias]][:prefix], -s STATEDIR), where
// debug files are found (--debug-file-directory DIR) and how names print
// (--no-demangle).
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
  std::vector<std::string> symmap_lists;  // --symmap-list (repeatable)
  std::string statedir;              // -s
  std::vector<std::string> debug_dirs;  // --debug-file-directory (repeatable)
  bool no_demangle = false;             // --no-demangle

  // Adds --debug-file-directory and --no-demangle (every tool that prints symbolized names).
  static void add_naming(CLI::App& app, std::vector<std::string>& debug_dirs, bool& no_demangle) {
    app.add_option("--debug-file-directory", debug_dirs,
                   "where separate debug files are looked for (by build-id: DIR/.build-id/xx/rest.debug; by "
                   ".gnu_debuglink: DIR/<the file's directory>/NAME); repeatable, in order; default "
                   "$XENTT_DEBUG_FILE_DIRECTORY (':'-separated) or /usr/lib/debug. $DEBUGINFOD_URLS servers are "
                   "asked last")
        ->allow_extra_args(false);
    app.add_flag("--no-demangle", no_demangle, "print C++ and Rust names mangled, as the symbol table spells them");
    app.footer(
        "Debug files: a symbol file without DWARF of its own (stripped, as distributions ship them) is\n"
        "symbolized with its separate debug file, looked for by build-id (DIR/.build-id/xx/rest.debug),\n"
        "then by .gnu_debuglink (the file's directory, its .debug/, DIR/<the file's directory>/; the CRC-32\n"
        "must match), then from $DEBUGINFOD_URLS (libdebuginfod; $DEBUGINFOD_TIMEOUT applies). A file\n"
        "whose build-id or CRC-32 does not match is refused, and a missing one reported, once each (with\n"
        "the ids and the places looked): its addresses then come from the symbol table alone. Compressed\n"
        "DWARF sections and dwz supplementary files (.gnu_debugaltlink, .debug_sup) are read too.\n"
        "Names print demangled as c++filt prints them (C++, Rust) unless --no-demangle.");
  }
  // `dwarf`: lines or inline frames will be asked (off: symbol+offset
  // only, and the DWARF is not read at load).
  static sym::SymbolizerOptions symbolizer_options(const std::vector<std::string>& debug_dirs, bool no_demangle,
                                                   bool dwarf = true) {
    sym::SymbolizerOptions o;
    o.demangle = !no_demangle;
    o.dwarf = dwarf;
    o.debug.dirs = debug_dirs;
    return o;
  }

  void add_to(CLI::App& app) {
    app.add_option("-e,--exe", exe, "one symbol file (ELF or System.map) for every address, as addr2line -e");
    app.add_option("--symmap", symmaps,
                   "FILE[@lo-hi[+bias]][:prefix]: FILE symbolizes addresses in [lo,hi) (hex) at address-bias, "
                   "names printed after prefix; repeatable, first match wins")
        ->allow_extra_args(false);
    app.add_option("--symmap-list", symmap_lists,
                   "FILE: a list of symbol maps, one --symmap spec a line (e.g. what tt_vmi NAME symmaps prints)");
    app.add_option("-s,--statedir", statedir, "take the symbol maps from STATEDIR/symfiles");
    add_naming(app, debug_dirs, no_demangle);
  }

  bool any() const { return !exe.empty() || !symmaps.empty() || !symmap_lists.empty() || !statedir.empty(); }

  // Builds the symbolizer: files the user named fail hard (exit 2), files
  // a state directory lists are reported once and print raw. `lines`:
  // file:line or inline frames will be asked (else the DWARF is not read).
  std::unique_ptr<sym::Symbolizer> make(const char* tool, bool lines = true) const {
    std::vector<sym::SymbolMapSpec> maps;
    if (!exe.empty()) maps.push_back(sym::parse_symmap(exe, {}, "-e"));
    for (const auto& s : symmaps) maps.push_back(sym::parse_symmap(s));
    for (const auto& l : symmap_lists) {
      auto more = sym::read_symbol_map_list(l, "the symbol-map list " + l);
      maps.insert(maps.end(), more.begin(), more.end());
    }
    bool strict = statedir.empty();
    if (!statedir.empty()) {
      // StateDir::kSymfiles: spelled here because these tools link no
      // session code (tests/layering checks that they do not).
      auto more = sym::read_symbol_map_list(statedir + "/symfiles", "the state directory's symbol-file list (does " +
                                                                        statedir + " hold a recording?)");
      maps.insert(maps.end(), more.begin(), more.end());
    }
    if (maps.empty()) throw xentt::bad_input("no symbol files: give -e FILE, --symmap SPEC, --symmap-list FILE or -s STATEDIR");
    std::string name = tool;
    return std::make_unique<sym::Symbolizer>(
        std::move(maps), [name](const std::string& w) { std::cerr << name << ": warning: " << printable(w) << "\n"; },
        strict, symbolizer_options(debug_dirs, no_demangle, lines));
  }
};

}  // namespace xentt::tools
