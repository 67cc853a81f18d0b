#include "bts/printer.h"

#include <charconv>
#include <cstring>

namespace bts {

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
  p = std::to_chars(p, p + 16, v, 16).ptr;
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

void RecordPrinter::resolve(std::uint64_t addr, Resolved& out) {
  LookupOptions lo{opt_.lines, opt_.inlines};
  if (sym_) {
    sym_->resolve(addr, lo, out);
    return;
  }
  if (!cache_) cache_ = std::make_unique<ResolveCache>();
  shared_->resolve_parsed(addr, lo, out, *cache_);
}

void RecordPrinter::append(std::string& out, std::uint64_t index, const Record& r,
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
      put_hex(p, r.format);
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
      append_hex(out, r.format);
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
    append_hex(out, r.format);
    out += ')';
  }
  out += '\n';
}

}  // namespace bts
