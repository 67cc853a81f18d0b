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
        // Formats lines [b, e) of the block into `buf`; problems go to
        // `errors` (printed after the block, in order).
        // `first`: this is the first half (written as it fills up).
        auto format = [&](bts::ResolveCache& cache, std::size_t b, std::size_t e, std::uint64_t first_line,
                          std::string& buf, std::string& errors, int& st, bool first) {
          bts::Resolved r;
          for (std::size_t i = b; i < e; ++i) {
            std::string_view v = lines[i];
            if (v.empty()) continue;
            std::uint64_t a = 0;
            if (!parse(v, a)) {
              // One bad line does not end a batch: report it with its line number.
              errors += "tt_symbolize: stdin line " + std::to_string(first_line + (i - b)) + ": '" + std::string(v) +
                        "' is not a hex address\n";
              st = 2;
              if (po.json) {
                buf += "{\"input\":";
                bts::append_json_string(buf, v);
                buf += ",\"error\":\"not a hex address\"}\n";
              } else {
                buf += "?? ";
                buf.append(v);
                buf += '\n';
              }
              continue;
            }
            sym->resolve_parsed(a, lo, r, cache);
            if (po.json) {
              buf += "{\"address\":\"";
              bts::append_hex(buf, a);
              buf += '"';
              bts::append_location_json(buf, "", r, po);
              buf += "}\n";
            } else {
              bts::append_hex(buf, a);
              buf += ' ';
              bts::append_location_text(buf, r, po);
              buf += '\n';
            }
            if (first) out.maybe_flush();
          }
        };
        bts::ResolveCache caches[2];
        std::string second_buf, errors[2];
        int second_status = 0;
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
          // Then resolved and formatted on both cores: the lookups only
          // read what prefetch parsed. Small blocks (interactive use) stay
          // on this thread.
          std::size_t n = lines.size();
          std::size_t mid = threads < 2 || n < 4096 ? n : n / 2;
          second_buf.clear();
          errors[0].clear();
          errors[1].clear();
          {
            std::thread helper;
            if (mid < n)
              helper = std::thread([&] {
                format(caches[1], mid, n, lineno + 1 + mid, second_buf, errors[1], second_status, false);
              });
            struct Join {  // also when an exception unwinds from here
              std::thread& t;
              ~Join() {
                if (t.joinable()) t.join();
              }
            } join{helper};
            format(caches[0], 0, mid, lineno + 1, out.buf, errors[0], status, true);
          }
          lineno += n;
          status = std::max(status, second_status);
          std::cerr << errors[0] << errors[1];
          out.flush();
          out.write(second_buf);
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
