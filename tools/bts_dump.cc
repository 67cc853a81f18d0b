// bts_dump: print the branch records of .bts files, raw or symbolized.
#include <CLI/CLI.hpp>
#include <iostream>
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "bts/file.h"
#include "bts/printer.h"
#include "bts_output.h"
#include "bts_symopts.h"
#include "tool_main.h"

int main(int argc, char** argv) {
  xentt::tools::SymbolOptions so;
  bts::PrintOptions po;
  std::vector<std::string> files;
  bool debug = false, require_extended = false;
  return xentt::tool_main(
      argc, argv, "bts_dump",
      "Print the branch records of .bts files (raw or extended, see docs/bts-format.md), one line per record:\n"
      "'N: FROM -> TO[ (brctr B)]', or symbol+offset with --symbols, or JSON objects with --json.",
      [&](CLI::App& app) {
        app.add_flag("-d,--debug", debug, "print each file's format and record count to stderr, and the hardware "
                                          "flags field of raw records");
        app.add_flag("-x,--extended", require_extended, "require extended files (with branch counters); "
                                                        "a raw file is an error");
        app.add_flag("-S,--symbols", po.symbols, "print symbol+offset instead of addresses");
        app.add_flag("--lines", po.lines, "with --symbols: add file:line (implies --symbols)");
        app.add_flag("--inlines", po.inlines, "with --symbols: add every inline frame (implies --lines)");
        app.add_flag("--json", po.json, "one JSON object per record: index, from, to, brctr, from_sym, to_sym, ...");
        so.add_to(app);
        app.add_option("FILE", files, ".bts files")->required()->check(CLI::ExistingPath);
      },
      [&]() -> int {
        if (po.inlines) po.lines = true;
        if (po.lines) po.symbols = true;
        if (po.symbols && !so.any()) {
          throw xentt::bad_input("--symbols needs symbol files: give -e FILE, --symmap SPEC or -s STATEDIR");
        }
        po.flags = debug;
        std::unique_ptr<bts::Symbolizer> sym;
        if (po.symbols) sym = so.make("bts_dump");
        xentt::tools::Output out;
        bool lines = po.lines || po.inlines;
        // Records are formatted in chunks, each split between this thread
        // and a helper (two cores format ~1.8x as many records a second);
        // the helper's half is written after this thread's. Lookups are
        // read-only (resolve_parsed), so with lines each block's DWARF
        // units are parsed first, on both cores (prefetch).
        unsigned threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
        auto first = bts::RecordPrinter::for_thread(sym.get(), po);
        auto second = bts::RecordPrinter::for_thread(sym.get(), po);
        std::string second_buf;
        constexpr std::size_t kChunk = 1 << 17;     // records a chunk (~11 MB of text)
        constexpr std::size_t kPrefetch = 1 << 20;  // records a DWARF prefetch batch
        for (const auto& path : files) {
          bts::BtsFile f(path);
          if (require_extended && f.format() != bts::Format::Extended)
            throw xentt::bad_input(path + ": raw .bts file (no extended marker at offset 0) but -x was given");
          if (debug)
            std::cerr << "bts_dump: " << path << ": " << bts::format_name(f.format()) << ", " << f.size()
                      << " records\n";
          auto recs = f.records();
          bool ext = f.format() == bts::Format::Extended;
          auto print = [&](bts::RecordPrinter& p, std::string& buf, std::size_t b, std::size_t e, bool flush) {
            for (std::size_t i = b; i < e; ++i) {
              p.append(buf, i, recs[i], ext ? std::optional<std::uint64_t>(recs[i].format) : std::nullopt);
              if (flush) out.maybe_flush();
            }
          };
          std::vector<std::uint64_t> ahead;
          for (std::size_t i = 0; i < recs.size(); i += kChunk) {
            std::size_t end = std::min(recs.size(), i + kChunk);
            if (sym && lines && i % kPrefetch == 0) {
              ahead.clear();
              for (std::size_t k = i; k < std::min(recs.size(), i + kPrefetch); ++k) {
                ahead.push_back(recs[k].from);
                ahead.push_back(recs[k].to);
              }
              sym->prefetch(ahead, {po.lines, po.inlines}, threads);
            }
            if (threads < 2 || end - i < 1024) {
              print(first, out.buf, i, end, true);
            } else {
              std::size_t mid = i + (end - i) / 2;
              second_buf.clear();
              {
                std::thread helper([&] { print(second, second_buf, mid, end, false); });
                struct Join {  // also when a write error unwinds from here
                  std::thread& t;
                  ~Join() { t.join(); }
                } join{helper};
                print(first, out.buf, i, mid, true);
              }
              out.flush();
              out.write(second_buf);
            }
            f.release_before(end);  // keep RSS flat on huge files
          }
        }
        out.flush();
        return 0;
      });
}
