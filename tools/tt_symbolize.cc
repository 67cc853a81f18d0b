// tt_symbolize: the xentt symbolizer as a batch filter. Hex addresses on
// stdin, one per line; one result line per address on stdout, so it can be
// compared line by line with addr2line and llvm-symbolizer.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>

#include "bts/printer.h"
#include "bts_output.h"
#include "bts_symopts.h"
#include "tool_main.h"

int main(int argc, char** argv) {
  xentt::tools::SymbolOptions so;
  bts::PrintOptions po;
  po.symbols = true;
  return xentt::tool_main(
      argc, argv, "tt_symbolize",
      "Resolve guest addresses (hex, one per line on stdin) to symbol+offset, file:line and inline frames.\n"
      "Text output: 'ADDR SYM+OFF[ at FILE:LINE | at FUNC FILE:LINE < CALLER FILE:LINE ...]'; "
      "--json: one object per line with address, sym, line, inlines.",
      [&](CLI::App& app) {
        so.add_to(app);
        app.add_flag("--lines", po.lines, "print file:line of the innermost frame");
        app.add_flag("--inlines", po.inlines, "print every inline frame, innermost first (implies --lines)");
        app.add_flag("--json", po.json, "one JSON object per line");
      },
      [&]() -> int {
        if (po.inlines) po.lines = true;
        auto sym = so.make("tt_symbolize");
        xentt::tools::Output out;
        bts::Resolved r;
        bts::LookupOptions lo{po.lines, po.inlines};
        // stdin is read in 1 MiB blocks and split here: iostream getline
        // costs more than the lookups themselves.
        std::string pending;
        std::vector<char> block(1 << 20);
        std::uint64_t lineno = 0;
        int status = 0;
        bool eof = false;
        std::size_t pos = 0;
        auto next_line = [&](std::string_view& line) -> bool {
          for (;;) {
            std::size_t nl = pending.find('\n', pos);
            if (nl != std::string::npos) {
              line = std::string_view(pending).substr(pos, nl - pos);
              pos = nl + 1;
              return true;
            }
            if (eof) {
              if (pos < pending.size()) {
                line = std::string_view(pending).substr(pos);
                pos = pending.size();
                return true;
              }
              return false;
            }
            pending.erase(0, pos);
            pos = 0;
            ssize_t n = ::read(0, block.data(), block.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw xentt::system_error("reading stdin", errno);
            if (n == 0) eof = true;
            pending.append(block.data(), static_cast<std::size_t>(n));
          }
        };
        std::string_view line;
        while (next_line(line)) {
          ++lineno;
          std::string_view v = line;
          while (!v.empty() && (v.back() == '\r' || v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
          while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
          if (v.empty()) continue;
          std::string_view h = v;
          if (h.starts_with("0x") || h.starts_with("0X")) h.remove_prefix(2);
          std::uint64_t a = 0;
          auto [p, ec] = std::from_chars(h.data(), h.data() + h.size(), a, 16);
          if (h.empty() || ec != std::errc() || p != h.data() + h.size()) {
            // One bad line does not end a batch: report it with its line number.
            std::cerr << "tt_symbolize: stdin line " << lineno << ": '" << v << "' is not a hex address\n";
            status = 2;
            if (po.json) {
              out.buf += "{\"input\":";
              bts::append_json_string(out.buf, v);
              out.buf += ",\"error\":\"not a hex address\"}\n";
            } else {
              out.buf += "?? ";
              out.buf.append(v);
              out.buf += '\n';
            }
            continue;
          }
          sym->resolve(a, lo, r);
          if (po.json) {
            out.buf += "{\"address\":\"";
            bts::append_hex(out.buf, a);
            out.buf += '"';
            bts::append_location_json(out.buf, "", r, po);
            out.buf += "}\n";
          } else {
            bts::append_hex(out.buf, a);
            out.buf += ' ';
            bts::append_location_text(out.buf, r, po);
            out.buf += '\n';
          }
          out.maybe_flush();
        }
        out.flush();
        return status;
      });
}
