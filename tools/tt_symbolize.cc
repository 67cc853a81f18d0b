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

#include "xentt/symbolize/printer.h"
#include "bts_output.h"
#include "bts_symopts.h"
#include "tool_main.h"

using namespace xentt;

int main(int argc, char** argv) {
  xentt::tools::SymbolOptions so;
  sym::PrintOptions po;
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
        auto symbolizer = so.make("tt_symbolize", po.lines);
        xentt::tools::Output out;
        // stdin is read in blocks of up to 1 MiB; each block's complete
        // lines are parsed, then formatted as a batch (AddressLines: each
        // distinct address once, on both cores) and written, so
        // interactive use (one line in, one line out) works too.
        unsigned threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
        sym::AddressLines formatted(*symbolizer, po, threads);
        std::string pending;
        std::vector<char> block(1 << 20);
        std::vector<std::uint64_t> addrs;
        std::vector<std::string_view> lines;
        std::vector<bool> valid;
        std::uint64_t lineno = 0;
        int status = 0;
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
          valid.clear();
          for (std::size_t pos = 0; pos < text.size();) {
            std::size_t nl = text.find('\n', pos);
            if (nl == std::string_view::npos) nl = text.size();
            std::string_view v = trim(text.substr(pos, nl - pos));
            pos = nl + 1;
            lines.push_back(v);
            std::uint64_t a = 0;
            valid.push_back(!v.empty() && parse(v, a));
            if (valid.back()) addrs.push_back(a);
          }
          formatted.format(addrs);
          std::string errors;
          // Lines that lie back to back in memory (symbol-only output) go
          // out as one run; a long run is written without a copy.
          std::string_view run;
          auto put_run = [&] {
            if (run.size() >= (1 << 16)) {
              out.flush();
              out.write(run);
            } else {
              out.buf.append(run);
              out.maybe_flush();
            }
            run = {};
          };
          for (std::size_t i = 0, k = 0; i < lines.size(); ++i) {
            std::string_view v = lines[i];
            if (valid[i]) {
              std::string_view l = formatted.line(k++);
              if (run.data() + run.size() == l.data()) {
                run = {run.data(), run.size() + l.size()};
              } else {
                put_run();
                run = l;
              }
              continue;
            }
            put_run();
            if (!v.empty()) {
              // One bad line does not end a batch: report it with its line number.
              errors += "tt_symbolize: stdin line " + std::to_string(lineno + 1 + i) + ": '" + std::string(v) +
                        "' is not a hex address\n";
              status = 2;
              if (po.json) {
                out.buf += "{\"input\":";
                sym::append_json_string(out.buf, v);
                out.buf += ",\"error\":\"not a hex address\"}\n";
              } else {
                out.buf += "?? ";
                out.buf.append(v);
                out.buf += '\n';
              }
            }
          }
          put_run();
          lineno += lines.size();
          std::cerr << errors;
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
