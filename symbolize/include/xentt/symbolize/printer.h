// xentt/symbolize/printer.h: formatting resolved addresses and branch records, as text
// (like the old XenTT tools) or as one JSON object per line. Printers only
// format: resolution is the Symbolizer's job. Output is appended to a
// std::string that the caller writes in large blocks (hex is formatted by
// hand: this is the hot loop of `bts_dump --symbols`).
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
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

// A growable block of text for the hot loops of the printers: room is
// handed out without being zero-filled (std::string::resize fills it),
// and a writer may copy fixed-size pieces past what it keeps.
class TextBuffer {
 public:
  // Where the next bytes go, with at least `room` bytes writable from there.
  char* reserve(std::size_t room) {
    if (cap_ - n_ < room) grow(room);
    return p_.get() + n_;
  }
  // Room for `room` more bytes at `at` (a pointer reserve() or ensure()
  // gave, advanced by what was written since); the bytes before `at` are
  // kept. Returns where they continue (the block may move).
  char* ensure(char* at, std::size_t room) {
    std::size_t used = static_cast<std::size_t>(at - p_.get());
    if (cap_ - used < room) {
      n_ = used;
      grow(room);
    }
    return p_.get() + used;
  }
  // Keeps what was written up to `end`.
  void commit(char* end) noexcept { n_ = static_cast<std::size_t>(end - p_.get()); }
  // The end of the room reserve() and ensure() made: a writer may go on
  // without calling them (nor commit()) while it stays below, keeping its
  // position and this limit in locals.
  char* limit() const noexcept { return p_.get() + cap_; }
  void append(std::string_view s) {
    char* p = reserve(s.size());
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    n_ += s.size();
  }
  void clear() noexcept { n_ = 0; }
  std::size_t size() const noexcept { return n_; }
  std::string_view view() const noexcept { return {p_.get(), n_}; }

 private:
  void grow(std::size_t room);
  std::unique_ptr<char[]> p_;
  std::size_t n_ = 0, cap_ = 0;
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
  // The same into a TextBuffer: bts_dump's hot loop. Text without lines
  // (symbol+offset or raw) is written in place: the numbers of
  // consecutive records by incrementing the previous one's digits, and
  // each address's "sym+0xoff" copied from a per-printer table of recent
  // addresses (256k entries, 16 MB, made on the first use: branch traces
  // revisit the same addresses), so a repeat costs no lookup and no
  // formatting. Other modes format as append(std::string&) does.
  void append(TextBuffer& out, std::uint64_t index, const BranchAddrs& r, std::optional<std::uint64_t> brctr);
  // append(TextBuffer&) of consecutive records, numbered from
  // `first_index`; `extended`: each one's `flags` is its branch counter
  // (an extended .bts file). Saves a call a record.
  void append_all(TextBuffer& out, std::uint64_t first_index, std::span<const BranchAddrs> recs, bool extended);

 private:
  void resolve(std::uint64_t addr, Resolved& out);
  // The decimal digits of a number that usually grows by one from call to
  // call (record indexes, branch counters). All inline: the text loop keeps
  // its counters in locals, which a call would make escape (see TextState).
  struct Counter {
    // Holds 0 at first.
    Counter() noexcept {
      digits[0] = '0';
      digits[kStuck] = '9';
    }
    // Writes `v` at p (copying 24 bytes: room for them needed) and returns its end.
    [[gnu::always_inline]] char* put(char* p, std::uint64_t v) noexcept {
      // One compare, then the last digit: 9 instructions nine times in ten.
      if (v == next && digits[last] != '9') {
        ++digits[last];
        ++next;
      } else {
        set(v);
      }
      __builtin_memcpy(p, digits, 24);
      return p + len;
    }
    // The other cases: a carry, or another number.
    [[gnu::always_inline]] void set(std::uint64_t v) noexcept {
      if (v == next && v != 0) {  // ends in 9: carry
        std::uint32_t i = len - 1;
        while (digits[i] == '9' && i > 0) digits[i--] = '0';
        if (digits[i] == '9') {  // 99..9 + 1: one digit more
          digits[i] = '0';
          std::memmove(digits + 1, digits, len);
          digits[0] = '1';
          ++len;
        } else {
          ++digits[i];
        }
      } else {
        len = static_cast<std::uint32_t>(std::to_chars(digits, digits + 20, v).ptr - digits);
      }
      next = v + 1;
      // After the largest number 18446744073709551615 `next` wraps to 0,
      // and put(0) must not increment its digits: from its decade on
      // (...610, where put() could reach it without set()) `last` points
      // at a '9' that stays, so every number of it comes here.
      last = v >= ~std::uint64_t{0} - 5 ? kStuck : len - 1;
    }

    static constexpr std::uint32_t kStuck = 27;  // digits[kStuck] is always '9'
    std::uint64_t next = 1;  // the number after the one in digits
    std::uint32_t len = 1;   // of the number in digits
    std::uint32_t last = 0;  // len - 1, or kStuck
    char digits[28] = {};    // 20 at most, then room for the 24-byte copy
  };
  // A recent address's text ("[prefix]sym+0xoff"), when it fits.
  struct Recent {
    std::uint64_t addr = 0;
    char text[55];
    std::uint8_t len = 0;  // 0: empty
  };
  static constexpr unsigned kRecentBits = 18;
  // What the text loop carries from record to record. append_all() works
  // on a local copy and stores it back at the end: members would be
  // reloaded after every byte written through the output pointer (a char*
  // may alias anything but a local whose address never leaves the
  // function), ~10 instructions a record.
  struct TextState {
    Counter index, brctr;
    Recent* recent = nullptr;  // the table of recent addresses (recent_)
    // The table entry holding the text of the previous record's
    // destination (null: none), at last_to_addr: a record that starts
    // where the previous one went (its target was itself a taken branch:
    // jump chains; every record of the benchmark's synthetic trace) copies
    // it without the hash and the probe. No entry changes between one
    // record's destination and the next one's source.
    const Recent* last_to = nullptr;
    std::uint64_t last_to_addr = 0;
  };
  // A location's text written: where it ends, and the table entry that
  // now holds it (null: not kept).
  struct Placed {
    char* end;
    const Recent* entry;
  };
  // Writes the location text of `addr` at p (ensured room: out's), from
  // the table when it is there; `limit`: out.limit(), updated when out
  // grows.
  Placed put_location(TextBuffer& out, char* p, char*& limit, Recent* table, std::uint64_t addr, Resolved& r) {
    // Two ways a set: 3% of the benchmark trace's lookups miss, against 5%
    // for as many entries direct-mapped.
    Recent* set = table + 2 * ((addr * 0x9E3779B97F4A7C15ull) >> (64 - kRecentBits + 1));
    for (int w = 0; w < 2; ++w)
      if (set[w].len && set[w].addr == addr) return {put_entry(p, set[w]), &set[w]};
    Placed placed = put_new_location(out, p, addr, r, set);
    limit = out.limit();
    return placed;
  }
  static char* put_entry(char* p, const Recent& e) noexcept {
    __builtin_memcpy(p, e.text, sizeof e.text);
    return p + e.len;
  }
  // Whether records print as text without lines (else through
  // append(std::string&)); sets `sym` (symbols asked and possible) and
  // makes the table of recent addresses.
  bool start_text(bool& sym);
  // The room a text record without lines needs at most, but for a
  // location formatted afresh (put_new_location() ensures its own).
  static constexpr std::size_t kTextRecordRoom = 256;
  char* put_text_record(TextBuffer& out, char* p, char*& limit, TextState& s, std::uint64_t index,
                        const BranchAddrs& r, bool sym, const std::uint64_t* brctr);
  // put_location() of an address not in the table: looks it up, formats
  // it and keeps its text in set[0] when it fits (set[0] moving to set[1]).
  Placed put_new_location(TextBuffer& out, char* p, std::uint64_t addr, Resolved& r, Recent* set);

  Symbolizer* sym_;
  const Symbolizer* shared_ = nullptr;
  PrintOptions opt_;
  Resolved from_, to_;
  bool have_to_ = false;  // to_ holds the previous record's destination
  std::unique_ptr<ResolveCache> cache_;  // for_thread printers'
  TextState text_;  // between calls
  // 1 << kRecentBits, in sets of two (16 MB): zero pages mapped from the
  // kernel (no memset), asked to be huge pages (see make_recent_table()).
  struct Unmap {
    std::size_t len;
    void operator()(void* p) const noexcept;
  };
  std::unique_ptr<Recent, Unmap> recent_{nullptr, Unmap{0}};
  void make_recent_table();
  std::string scratch_;  // append(TextBuffer&)'s other modes
};

}  // namespace xentt::sym
