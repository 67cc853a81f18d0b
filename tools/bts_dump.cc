// bts_dump: print the branch records of .bts files, raw or symbolized.
#include <CLI/CLI.hpp>
#include <iostream>
#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "xentt/tracefmt/bts_file.h"
#include "xentt/symbolize/printer.h"
#include "bts_export.h"
#include "bts_output.h"
#include "bts_symopts.h"
#include "tool_main.h"

using namespace xentt;

int main(int argc, char** argv) {
  xentt::tools::SymbolOptions so;
  sym::PrintOptions po;
  std::vector<std::string> files;
  bool debug = false, require_extended = false;
  xentt::tools::ExportOptions eo;
  return xentt::tool_main(
      argc, argv, "bts_dump",
      "Print the branch records of .bts files (raw or extended, see docs/bts-format.md), one line per record:\n"
      "'N: FROM -> TO[ (brctr B)]', or symbol+offset with --symbols, or JSON objects with --json;\n"
      "or in another tool's format with --format (docs/exports.md).",
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
        eo.add_to(app);
        app.add_option("FILE", files, ".bts files")->required()->check(CLI::ExistingPath);
      },
      [&]() -> int {
        if (eo.wanted()) {
          if (po.symbols || po.lines || po.inlines || po.json)
            throw xentt::bad_input("--format chooses the output: not with --symbols, --lines, --inlines or --json");
          return eo.run_bts(files, so, require_extended, "bts_dump");
        }
        eo.check_unused();
        if (po.inlines) po.lines = true;
        if (po.lines) po.symbols = true;
        if (po.symbols && !so.any()) {
          throw xentt::bad_input("--symbols needs symbol files: give -e FILE, --symmap SPEC or -s STATEDIR");
        }
        po.flags = debug;
        std::unique_ptr<sym::Symbolizer> symbolizer;
        if (po.symbols) symbolizer = so.make("bts_dump", po.lines);
        xentt::tools::Output out;
        bool lines = po.lines || po.inlines;
        // Two threads take turns: each formats every other chunk of records
        // into its own buffer, then waits for the previous chunk to be
        // written and writes its own, so one formats while the other writes
        // (writing into a fresh tmpfs or page-cache file costs about as much
        // as formatting). Lookups are read-only (resolve_parsed): with
        // lines, each batch's DWARF units are parsed first, on both cores
        // (prefetch), before the threads start on it.
        unsigned threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
        sym::RecordPrinter printers[2] = {sym::RecordPrinter::for_thread(symbolizer.get(), po),
                                          sym::RecordPrinter::for_thread(symbolizer.get(), po)};
        sym::TextBuffer bufs[2];
        for (auto& b : bufs) b.reserve(std::size_t{8} << 20);  // a chunk's text, grown once
        std::vector<sym::BranchAddrs> chunk[2];
        constexpr std::size_t kChunk = 1 << 16;     // records a chunk (~5 MB of text)
        constexpr std::size_t kPrefetch = 1 << 20;  // records a DWARF prefetch batch
        out.flush();
        for (const auto& path : files) {
          bts::BtsFile f(path);
          if (require_extended && f.format() != bts::Format::Extended)
            throw xentt::bad_input(path + ": raw .bts file (no extended marker at offset 0) but -x was given");
          if (debug)
            std::cerr << "bts_dump: " << path << ": " << bts::format_name(f.format()) << ", " << f.size()
                      << " records\n";
          auto recs = f.records();
          bool ext = f.format() == bts::Format::Extended;
          std::size_t batch = symbolizer && lines ? kPrefetch : std::max<std::size_t>(recs.size(), 1);
          std::vector<std::uint64_t> ahead;
          for (std::size_t b0 = 0; b0 < recs.size(); b0 += batch) {
            std::size_t b1 = std::min(recs.size(), b0 + batch);
            if (symbolizer && lines) {
              ahead.clear();
              for (std::size_t k = b0; k < b1; ++k) {
                ahead.push_back(recs[k].from);
                ahead.push_back(recs[k].to);
              }
              symbolizer->prefetch(ahead, {po.lines, po.inlines}, threads);
            }
            std::size_t nchunks = (b1 - b0 + kChunk - 1) / kChunk;
            std::mutex m;
            std::condition_variable turn_cv;
            std::size_t turn = 0;  // the chunk to be written next
            bool failed = false;
            std::exception_ptr error;
            auto work = [&](unsigned k) {
              try {
                for (std::size_t c = k; c < nchunks; c += threads) {
                  std::size_t i0 = b0 + c * kChunk, i1 = std::min(b1, i0 + kChunk);
                  bufs[k].clear();
                  // The chunk as the printer's records (the same three words each).
                  chunk[k].resize(i1 - i0);
                  for (std::size_t i = i0; i < i1; ++i) chunk[k][i - i0] = {recs[i].from, recs[i].to, recs[i].format};
                  printers[k].append_all(bufs[k], i0, chunk[k], ext);
                  std::unique_lock lock(m);
                  turn_cv.wait(lock, [&] { return turn == c || failed; });
                  if (failed) return;
                  lock.unlock();
                  out.write(bufs[k].view());
                  f.release_before(i1);  // keep RSS flat on huge files
                  lock.lock();
                  ++turn;
                  turn_cv.notify_all();
                }
              } catch (...) {
                std::lock_guard lock(m);
                if (!error) error = std::current_exception();
                failed = true;
                turn_cv.notify_all();
              }
            };
            if (threads < 2 || nchunks < 2) {
              work(0);
            } else {
              std::thread helper(work, 1u);
              work(0);
              helper.join();
            }
            if (error) std::rethrow_exception(error);
          }
        }
        out.flush();
        return 0;
      });
}
