// xentt/symbolize/printer.h: formatting resolved addresses and branch records, as text
// (like the old XenTT tools) or as one JSON object per line. Printers only
// format: resolution is the Symbolizer's job. Output is appended to a
// std::string that the caller writes in large blocks (hex is formatted by
// hand: this is the hot loop of `bts_dump --symbols`).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xentt/symbolize/symbolizer.h"

namespace xentt::sym {

struct PrintOptions {
  bool symbols = false;  // sym+0xoff instead of raw addresses
  bool lines = false;    // file:line of the innermost frame
  bool inlines = false;  // every inline frame
  bool json = false;
  bool flags = false;    // raw files: also print the hardware `format` field
};

// "0x" + lowercase hex.
void append_hex(std::string& out, std::uint64_t v);
// JSON string literal with escapes.
void append_json_string(std::string& out, std::string_view s);

// Text: "prefix:sym+0x12", or "0xaddr" when no symbol covers it; with
// lines " at file:line"; with inlines " at f1 file:line < f2 file:line ...".
void append_location_text(std::string& out, const Resolved& r, const PrintOptions& opt);
// JSON members (no braces) for a location, each name prefixed by `key`
// ("from" gives "from_sym", "from_line", "from_inlines"; an empty key
// gives "sym", "line", "inlines"): `*_sym` is the
// symbol+offset string or null; `*_line` "file:line" or null; `*_inlines`
// [{"function","file","line","column"}...] innermost first.
void append_location_json(std::string& out, std::string_view key, const Resolved& r, const PrintOptions& opt);

// One address's line, '\n' included, as tt_symbolize prints it. Text:
// "0xADDR LOCATION" (append_location_text); JSON:
// {"address":"0x..",<append_location_json members>}.
void append_address_line(std::string& out, const Resolved& r, const PrintOptions& opt);

// Formats batches of addresses, one line each (append_address_line), for
// filters whose input repeats addresses: branch traces revisit hot
// functions and loops (the benchmark's trace: 1M addresses, 139k
// distinct). Each distinct address is resolved and formatted once and its
// line kept, so a repeat costs one hash probe and a copy. A batch's new
// addresses are resolved in address order (neighbours share their unit's
// tables, so the searches stay in the CPU cache) after one
// Symbolizer::prefetch(), split between up to `threads` threads. The kept
// text is dropped once it passes `max_bytes` (at the start of a batch):
// memory stays bounded on inputs without repeats, at the price of
// formatting again.
class AddressLines {
 public:
  AddressLines(Symbolizer& symbolizer, PrintOptions opt, unsigned threads,
               std::size_t max_bytes = std::size_t{128} << 20);
  // Formats the lines of `addrs`. Costs a hash probe per address, plus a
  // lookup and formatting for each one not seen before.
  void format(std::span<const std::uint64_t> addrs);
  // The line of addrs[i] of the last format() call; valid until the next.
  std::string_view line(std::size_t i) const noexcept { return lines_[i]; }

 private:
  struct Slot {
    std::uint64_t addr = 0;
    std::uint64_t off = 0;
    std::uint32_t len = 0;  // 0: free
  };
  // The slot of `addr`, or the free slot where it goes.
  std::size_t probe(std::uint64_t addr) const noexcept;
  void reserve(std::size_t entries);
  void clear();  // forgets every kept line
  // Resolves and formats `addrs` on up to threads_ threads; calls
  // done(i, line) for each, in order (the line is in bufs_ until the next
  // call).
  template <class Done>
  void format_all(std::span<const std::uint64_t> addrs, Done&& done);

  Symbolizer& sym_;
  PrintOptions opt_;
  unsigned threads_;
  std::size_t max_bytes_;
  std::vector<Slot> slots_;  // open addressing, linear probing, a power of two
  std::size_t used_ = 0;
  std::string text_;  // the kept lines, back to back
  std::vector<std::string_view> lines_;  // the last batch's line per address
  std::vector<std::string> bufs_;        // per thread, reused from batch to batch
  std::vector<std::vector<std::size_t>> ends_;  // where each line in bufs_ ends
};

// One branch as the printer sees it: where it left, where it went, and the
// hardware flags of a raw .bts record (printed with PrintOptions::flags).
// The layout of a .bts record, so a caller's records convert for free.
struct BranchAddrs {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  std::uint64_t flags = 0;
};

// Formats branch records, resolving both ends when symbols are asked.
// Reuses its lookup buffers: keep one per output stream.
class RecordPrinter {
 public:
  // Resolves through `symbolizer` (parsing DWARF units on first use).
  RecordPrinter(Symbolizer* symbolizer, PrintOptions opt) : sym_(symbolizer), opt_(opt) {}
  // A printer for one of several threads formatting parts of a batch at
  // once: resolves with Symbolizer::resolve_parsed and a cache of its own,
  // so prefetch() the batch's addresses first when lines are asked.
  static RecordPrinter for_thread(const Symbolizer* symbolizer, PrintOptions opt) {
    RecordPrinter p(nullptr, opt);
    p.shared_ = symbolizer;
    return p;
  }
  // Appends one line, '\n' included. Text: "N: FROM -> TO[ (brctr B)]";
  // JSON: {"index":N,"from":"0x..","to":"0x.."[,"brctr":B][,"flags":"0x.."][,from_sym...]}.
  void append(std::string& out, std::uint64_t index, const BranchAddrs& r, std::optional<std::uint64_t> brctr);

 private:
  void resolve(std::uint64_t addr, Resolved& out);

  Symbolizer* sym_;
  const Symbolizer* shared_ = nullptr;
  PrintOptions opt_;
  Resolved from_, to_;
  bool have_to_ = false;  // to_ holds the previous record's destination
  std::unique_ptr<ResolveCache> cache_;  // for_thread printers'
};

}  // namespace xentt::sym
