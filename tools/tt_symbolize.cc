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
#include <thread>
#include <vector>
#include <algorithm>

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
        // stdin is read in blocks of up to 1 MiB; each block's complete
        // lines are parsed, their DWARF units parsed ahead on both cores
        // (Symbolizer::prefetch), then resolved and printed, and the output
        // is flushed before the next read, so interactive use (one line in,
        // one line out) works too.
        std::string pending;
        std::vector<char> block(1 << 20);
        std::vector<std::uint64_t> addrs;
        std::vector<std::string_view> lines;
        std::uint64_t lineno = 0;
        int status = 0;
        unsigned threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
        auto parse = [](std::string_view v, std::uint64_t& a) {
          if (v.starts_with("0x") || v.starts_with("0X")) v.remove_prefix(2);
          auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), a, 16);
          return !v.empty() && ec == std::errc() && p == v.data() + v.size();
        };
        auto trim = [](std::string_view v) {
          while (!v.empty() && (v.back() == '\r' || v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
          while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
          return v;
        };
        auto process = [&](std::string_view text) {
          lines.clear();
          addrs.clear();
          for (std::size_t pos = 0; pos < text.size();) {
            std::size_t nl = text.find('\n', pos);
            if (nl == std::string_view::npos) nl = text.size();
            std::string_view v = trim(text.substr(pos, nl - pos));
            pos = nl + 1;
            lines.push_back(v);
            std::uint64_t a;
            if (!v.empty() && parse(v, a)) addrs.push_back(a);
          }
          sym->prefetch(addrs, lo, threads);
          for (std::string_view v : lines) {
            ++lineno;
            if (v.empty()) continue;
            std::uint64_t a = 0;
            if (!parse(v, a)) {
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
        };
        for (;;) {
          ssize_t n = ::read(0, block.data(), block.size());
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) throw xentt::system_error("reading stdin", errno);
          if (n == 0) break;
          pending.append(block.data(), static_cast<std::size_t>(n));
          std::size_t last = pending.rfind('\n');
          if (last == std::string::npos) continue;
          process(std::string_view(pending).substr(0, last + 1));
          pending.erase(0, last + 1);
        }
        if (!pending.empty()) process(pending);
        out.flush();
        return status;
      });
}
