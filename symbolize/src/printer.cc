#include "xentt/symbolize/printer.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <exception>
#include <thread>

namespace xentt::sym {

void append_hex(std::string& out, std::uint64_t v) {
  char buf[18] = {'0', 'x'};
  auto [p, ec] = std::to_chars(buf + 2, buf + sizeof buf, v, 16);
  (void)ec;
  out.append(buf, static_cast<std::size_t>(p - buf));
}

static void append_dec(std::string& out, std::uint64_t v) {
  char buf[20];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, static_cast<std::size_t>(p - buf));
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static const char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

static void append_symbol(std::string& out, const Resolved& r) {
  out.append(r.prefix);
  out.append(r.symbol);
  out += '+';
  append_hex(out, r.offset);
}

static void append_file_line(std::string& out, const Frame& f) {
  out.append(f.file.empty() ? std::string_view("??") : f.file);
  out += ':';
  if (f.line)
    append_dec(out, f.line);
  else
    out += '?';
}

void append_location_text(std::string& out, const Resolved& r, const PrintOptions& opt) {
  if (r.symbol.empty())
    append_hex(out, r.address);
  else
    append_symbol(out, r);
  if (!(opt.lines || opt.inlines) || r.frames.empty()) return;
  out += " at ";
  if (!opt.inlines) {
    append_file_line(out, r.frames.front());
    return;
  }
  for (std::size_t i = 0; i < r.frames.size(); ++i) {
    if (i) out += " < ";
    out.append(r.frames[i].function.empty() ? std::string_view("??") : r.frames[i].function);
    out += ' ';
    append_file_line(out, r.frames[i]);
  }
}

// ,"key_name": (or ,"name": for an empty key)
static void append_member(std::string& out, std::string_view key, std::string_view name) {
  out += ",\"";
  if (!key.empty()) {
    out.append(key);
    out += '_';
  }
  out.append(name);
  out += "\":";
}

void append_location_json(std::string& out, std::string_view key, const Resolved& r, const PrintOptions& opt) {
  append_member(out, key, "sym");
  if (r.symbol.empty()) {
    out += "null";
  } else {
    std::string s;
    append_symbol(s, r);
    append_json_string(out, s);
  }
  if (opt.lines || opt.inlines) {
    append_member(out, key, "line");
    if (r.frames.empty()) {
      out += "null";
    } else {
      std::string s;
      append_file_line(s, r.frames.front());
      append_json_string(out, s);
    }
  }
  if (opt.inlines) {
    append_member(out, key, "inlines");
    out += '[';
    for (std::size_t i = 0; i < r.frames.size(); ++i) {
      const Frame& f = r.frames[i];
      if (i) out += ',';
      out += "{\"function\":";
      if (f.function.empty())
        out += "null";
      else
        append_json_string(out, f.function);
      out += ",\"file\":";
      if (f.file.empty())
        out += "null";
      else
        append_json_string(out, f.file);
      out += ",\"line\":";
      append_dec(out, f.line);
      out += ",\"column\":";
      append_dec(out, f.column);
      out += '}';
    }
    out += ']';
  }
}

namespace {

// Pointer-bump writers for the hot text path: one resize per line instead
// of a dozen small appends (each a capacity check and a memcpy call).
inline void put(char*& p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  p += s.size();
}
inline void put_hex(char*& p, std::uint64_t v) {
  *p++ = '0';
  *p++ = 'x';
  // Inline, from the last digit: ~4 instructions a digit, and a symbol's
  // offset has one to three (std::to_chars: a call and ~40 instructions).
  auto n = static_cast<unsigned>(v ? (std::bit_width(v) + 3) / 4 : 1);
  char* e = p + n;
  do {
    *--e = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  p += n;
}
inline void put_dec(char*& p, std::uint64_t v) { p = std::to_chars(p, p + 20, v).ptr; }
inline std::size_t loc_len(const Resolved& r) { return r.prefix.size() + r.symbol.size() + 1 + 18; }
inline void put_loc(char*& p, const Resolved& r) {
  if (r.symbol.empty()) {
    put_hex(p, r.address);
    return;
  }
  put(p, r.prefix);
  put(p, r.symbol);
  *p++ = '+';
  put_hex(p, r.offset);
}

}  // namespace

void append_address_line(std::string& out, const Resolved& r, const PrintOptions& opt) {
  if (!opt.json && !opt.lines && !opt.inlines) {
    // "0xADDR SYM+0xOFF\n": the symbol-only hot path, one resize.
    std::size_t n0 = out.size();
    out.resize(n0 + 20 + loc_len(r));
    char* p = out.data() + n0;
    put_hex(p, r.address);
    *p++ = ' ';
    put_loc(p, r);
    *p++ = '\n';
    out.resize(static_cast<std::size_t>(p - out.data()));
    return;
  }
  if (opt.json) {
    out += "{\"address\":\"";
    append_hex(out, r.address);
    out += '"';
    append_location_json(out, "", r, opt);
    out += "}\n";
  } else {
    append_hex(out, r.address);
    out += ' ';
    append_location_text(out, r, opt);
    out += '\n';
  }
}

AddressLines::AddressLines(Symbolizer& symbolizer, PrintOptions opt, unsigned threads, std::size_t max_bytes)
    : sym_(symbolizer), opt_(opt), threads_(std::max(1u, threads)), max_bytes_(max_bytes) {}

std::size_t AddressLines::probe(std::uint64_t addr) const noexcept {
  // Fibonacci hashing spreads nearby code addresses over the table.
  std::size_t mask = slots_.size() - 1;
  std::size_t i = static_cast<std::size_t>((addr * 0x9E3779B97F4A7C15ull) >> 32) & mask;
  while (slots_[i].len && slots_[i].addr != addr) i = (i + 1) & mask;
  return i;
}

void AddressLines::reserve(std::size_t entries) {
  // At most half full: probes stay short.
  std::size_t want = 1024;
  while (want < 2 * entries) want *= 2;
  if (want <= slots_.size()) return;
  std::vector<Slot> old(want);
  old.swap(slots_);
  for (const Slot& s : old)
    if (s.len) slots_[probe(s.addr)] = s;
}

void AddressLines::clear() {
  text_.clear();
  std::fill(slots_.begin(), slots_.end(), Slot{});
  used_ = 0;
}

template <class Done>
void AddressLines::format_all(std::span<const std::uint64_t> addrs, Done&& done) {
  // Each thread formats a contiguous run of `addrs` into its own buffer
  // (lookups only read what prefetch parsed), noting where each line ends.
  // A thread costs ~50 us: small batches (interactive use) stay on this one.
  LookupOptions lo{opt_.lines, opt_.inlines};
  unsigned nt = addrs.size() < 4096 ? 1 : threads_;
  bufs_.resize(nt);
  ends_.resize(nt);
  std::vector<std::exception_ptr> errors(nt);
  auto work = [&](unsigned t) {
    try {
      std::size_t b = addrs.size() * t / nt, e = addrs.size() * (t + 1) / nt;
      Resolved r;
      std::string& buf = bufs_[t];
      buf.clear();
      ends_[t].clear();
      for (std::size_t i = b; i < e; ++i) {
        sym_.resolve_parsed(addrs[i], lo, r);
        append_address_line(buf, r, opt_);
        ends_[t].push_back(buf.size());
      }
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  {
    std::vector<std::thread> helpers;
    for (unsigned t = 1; t < nt; ++t) helpers.emplace_back(work, t);
    work(0);
    for (auto& h : helpers) h.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  std::size_t i = 0;
  for (unsigned t = 0; t < nt; ++t) {
    std::size_t prev = 0;
    for (std::size_t end : ends_[t]) {
      done(i++, std::string_view(bufs_[t]).substr(prev, end - prev));
      prev = end;
    }
  }
}

void AddressLines::format(std::span<const std::uint64_t> addrs) {
  lines_.resize(addrs.size());
  if (!opt_.lines && !opt_.inlines) {
    // A symbol-only lookup is one search in the symbol table: cheaper than
    // the hash probe and the copy, so nothing is kept and the lines stay in
    // the threads' buffers, in order (adjacent, for the caller to write in
    // runs).
    format_all(addrs, [&](std::size_t i, std::string_view line) { lines_[i] = line; });
    return;
  }
  // Start over rather than evict: simple, and a trace's hot addresses
  // come back in the next batch.
  if (text_.size() > max_bytes_) clear();
  reserve(used_ + addrs.size());
  // New addresses get their slot now (len 1 marks it taken; the length is
  // set once formatted), so a repeat within the batch is not looked up
  // twice. Slot numbers stay valid: the table grows only above.
  std::vector<std::uint32_t> where(addrs.size());
  std::vector<std::pair<std::uint64_t, std::uint32_t>> todo;  // (address, slot)
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    std::size_t k = probe(addrs[i]);
    if (!slots_[k].len) {
      slots_[k] = Slot{addrs[i], 0, 1};
      ++used_;
      todo.push_back({addrs[i], static_cast<std::uint32_t>(k)});
    }
    where[i] = static_cast<std::uint32_t>(k);
  }
  if (!todo.empty()) {
    std::sort(todo.begin(), todo.end());
    std::vector<std::uint64_t> fresh(todo.size());
    for (std::size_t i = 0; i < todo.size(); ++i) fresh[i] = todo[i].first;
    try {
      sym_.prefetch(fresh, {opt_.lines, opt_.inlines}, threads_);
      format_all(fresh, [&](std::size_t i, std::string_view line) {
        Slot& s = slots_[todo[i].second];
        s.off = text_.size();
        s.len = static_cast<std::uint32_t>(line.size());
        text_ += line;
      });
    } catch (...) {
      clear();  // the slots taken for this batch hold no text
      throw;
    }
  }
  for (std::size_t i = 0; i < addrs.size(); ++i) lines_[i] = {text_.data() + slots_[where[i]].off, slots_[where[i]].len};
}


void RecordPrinter::resolve(std::uint64_t addr, Resolved& out) {
  LookupOptions lo{opt_.lines, opt_.inlines};
  if (sym_) {
    sym_->resolve(addr, lo, out);
    return;
  }
  if (!cache_) cache_ = std::make_unique<ResolveCache>();
  shared_->resolve_parsed(addr, lo, out, *cache_);
}

void RecordPrinter::append(std::string& out, std::uint64_t index, const BranchAddrs& r,
                           std::optional<std::uint64_t> brctr) {
  bool sym = opt_.symbols && (sym_ || shared_);
  if (sym) {
    // A record that starts where the previous one went (its target was
    // itself a taken branch: jump chains; every record of the benchmark's
    // synthetic trace) reuses that lookup instead of repeating it.
    if (have_to_ && to_.address == r.from)
      std::swap(from_, to_);
    else
      resolve(r.from, from_);
    resolve(r.to, to_);
    have_to_ = true;
  }
  if (!opt_.json && !opt_.lines && !opt_.inlines) {
    // "N: FROM -> TO (brctr B)\n" at most 20+2+loc+4+loc+8+20+2 bytes.
    std::size_t need = 64 + (sym ? loc_len(from_) + loc_len(to_) : 36);
    std::size_t n0 = out.size();
    out.resize(n0 + need);
    char* p = out.data() + n0;
    put_dec(p, index);
    *p++ = ':';
    *p++ = ' ';
    if (sym) {
      put_loc(p, from_);
      put(p, " -> ");
      put_loc(p, to_);
    } else {
      put_hex(p, r.from);
      put(p, " -> ");
      put_hex(p, r.to);
    }
    if (brctr) {
      put(p, " (brctr ");
      put_dec(p, *brctr);
      *p++ = ')';
    } else if (opt_.flags) {
      put(p, " (flags ");
      put_hex(p, r.flags);
      *p++ = ')';
    }
    *p++ = '\n';
    out.resize(static_cast<std::size_t>(p - out.data()));
    return;
  }
  if (opt_.json) {
    out += "{\"index\":";
    append_dec(out, index);
    out += ",\"from\":\"";
    append_hex(out, r.from);
    out += "\",\"to\":\"";
    append_hex(out, r.to);
    out += '"';
    if (brctr) {
      out += ",\"brctr\":";
      append_dec(out, *brctr);
    } else if (opt_.flags) {
      out += ",\"flags\":\"";
      append_hex(out, r.flags);
      out += '"';
    }
    if (sym) {
      append_location_json(out, "from", from_, opt_);
      append_location_json(out, "to", to_, opt_);
    }
    out += "}\n";
    return;
  }
  append_dec(out, index);
  out += ": ";
  if (sym) {
    append_location_text(out, from_, opt_);
    out += " -> ";
    append_location_text(out, to_, opt_);
  } else {
    append_hex(out, r.from);
    out += " -> ";
    append_hex(out, r.to);
  }
  if (brctr) {
    out += " (brctr ";
    append_dec(out, *brctr);
    out += ')';
  } else if (opt_.flags) {
    out += " (flags ";
    append_hex(out, r.flags);
    out += ')';
  }
  out += '\n';
}

}  // namespace xentt::sym

namespace xentt::sym {

void TextBuffer::grow(std::size_t room) {
  std::size_t cap = std::max<std::size_t>({cap_ * 2, n_ + room, 1 << 16});
  std::unique_ptr<char[]> p(new char[cap]);  // not zero-filled
  if (n_) std::memcpy(p.get(), p_.get(), n_);
  p_ = std::move(p);
  cap_ = cap;
}

RecordPrinter::Placed RecordPrinter::put_new_location(TextBuffer& out, char* p, std::uint64_t addr, Resolved& r,
                                                      Recent* set) {
  // Symbols only: one search, no cache of resolved addresses in between.
  if (shared_)
    shared_->resolve_parsed(addr, LookupOptions{}, r);
  else
    resolve(addr, r);
  p = out.ensure(p, loc_len(r) + 128);  // and the rest of the line
  char* start = p;
  put_loc(p, r);
  auto n = static_cast<std::size_t>(p - start);
  // Unmapped addresses print raw, after their one warning: not kept.
  if (!r.mapped || n > sizeof set[0].text) return {p, nullptr};
  set[1] = set[0];
  set[0].addr = addr;
  set[0].len = static_cast<std::uint8_t>(n);
  std::memcpy(set[0].text, start, n);
  return {p, &set[0]};
}

// One text record without lines at `p` (kTextRecordRoom bytes below
// `limit`, out's), '\n' included; returns its end. Inlined into both
// callers below.
// (Always inlined: a call, its register saves and arguments, cost ~30
// instructions a record.)
[[gnu::always_inline]] inline char* RecordPrinter::put_text_record(TextBuffer& out, char* p, char*& limit,
                                                                   TextState& s, std::uint64_t index,
                                                                   const BranchAddrs& r, bool sym,
                                                                   const std::uint64_t* brctr) {
  // At most: 24 (a number's copy) + 2 + 2 * (55 (a location's copy) or
  // 18) + 4 + 8 + 24 + 2; a location formatted afresh ensures its own.
  p = s.index.put(p, index);
  *p++ = ':';
  *p++ = ' ';
  if (sym) {
    if (s.last_to && r.from == s.last_to_addr)
      p = put_entry(p, *s.last_to);
    else
      p = put_location(out, p, limit, s.recent, r.from, from_).end;
    __builtin_memcpy(p, " -> ", 4);
    p += 4;
    Placed to = put_location(out, p, limit, s.recent, r.to, to_);
    p = to.end;
    s.last_to = to.entry;
    s.last_to_addr = r.to;
  } else {
    put_hex(p, r.from);
    __builtin_memcpy(p, " -> ", 4);
    p += 4;
    put_hex(p, r.to);
  }
  if (brctr) {
    __builtin_memcpy(p, " (brctr ", 8);
    p += 8;
    p = s.brctr.put(p, *brctr);
    *p++ = ')';
  } else if (opt_.flags) {
    __builtin_memcpy(p, " (flags ", 8);
    p += 8;
    put_hex(p, r.flags);
    *p++ = ')';
  }
  *p++ = '\n';
  return p;
}

void RecordPrinter::Unmap::operator()(void* p) const noexcept { ::munmap(p, len); }

void RecordPrinter::make_recent_table() {
  // Lookups land anywhere in the table, and a trace's hot addresses touch
  // nearly every 4 KB page of it: as 2 MB pages it costs 8 page faults
  // instead of 4096 (~3 ms on the 1M-record benchmark, two tables) and
  // its probes no TLB misses. Zero-filled by the kernel; madvise is only
  // a wish (transparent huge pages "madvise", as Debian sets them).
  std::size_t len = (std::size_t{1} << kRecentBits) * sizeof(Recent);
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, len, MADV_HUGEPAGE);
  recent_ = std::unique_ptr<Recent, Unmap>(static_cast<Recent*>(p), Unmap{len});
}

bool RecordPrinter::start_text(bool& sym) {
  sym = opt_.symbols && (sym_ || shared_);
  if (opt_.json || opt_.lines || opt_.inlines) return false;
  if (sym && !recent_) make_recent_table();
  have_to_ = false;  // to_ no longer follows the records (append(std::string&) would reuse it)
  text_.recent = recent_.get();
  text_.last_to = nullptr;
  return true;
}

void RecordPrinter::append(TextBuffer& out, std::uint64_t index, const BranchAddrs& r,
                           std::optional<std::uint64_t> brctr) {
  bool sym;
  if (!start_text(sym)) {
    scratch_.clear();
    append(scratch_, index, r, brctr);
    out.append(scratch_);
    return;
  }
  char* p = out.reserve(kTextRecordRoom);
  char* limit = out.limit();
  out.commit(put_text_record(out, p, limit, text_, index, r, sym, brctr ? &*brctr : nullptr));
}

void RecordPrinter::append_all(TextBuffer& out, std::uint64_t first_index, std::span<const BranchAddrs> recs,
                               bool extended) {
  bool sym;
  if (!start_text(sym)) {
    for (std::size_t i = 0; i < recs.size(); ++i)
      append(out, first_index + i, recs[i], extended ? std::optional<std::uint64_t>(recs[i].flags) : std::nullopt);
    return;
  }
  // The state, the position and the buffer's limit in registers and on
  // this stack (stored back below): out's members are read again only
  // when it must grow.
  TextState s = text_;
  char* p = out.reserve(kTextRecordRoom);
  char* limit = out.limit();
  for (std::size_t i = 0; i < recs.size(); ++i) {
    if (static_cast<std::size_t>(limit - p) < kTextRecordRoom) {
      out.commit(p);
      p = out.reserve(kTextRecordRoom);
      limit = out.limit();
    }
    p = put_text_record(out, p, limit, s, first_index + i, recs[i], sym, extended ? &recs[i].flags : nullptr);
  }
  out.commit(p);
  text_ = s;
}

}  // namespace xentt::sym
