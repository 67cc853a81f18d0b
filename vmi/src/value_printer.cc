// gdb's `print` notation, read for reference from gdb's documented output
// (no code of gdb's): repeats of more than 10 equal elements are folded,
// 200 elements at most, a char array's one trailing NUL is not shown.
#include "xentt/vmi/value_printer.h"

#include <fmt/format.h>

#include "value_bytes.h"
#include "xentt/base/error.h"

namespace xentt::vmi {

using sym::Type;
using sym::TypeKind;
using sym::strip;

namespace {

// One char as it appears inside quotes `q` (' or ").
std::string escape(unsigned char c, char q) {
  switch (c) {
    case '\a': return "\\a";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\v': return "\\v";
    case '\\': return "\\\\";
    default: break;
  }
  if (c == static_cast<unsigned char>(q)) return std::string("\\") + q;
  if (c >= 0x20 && c < 0x7f) return std::string(1, static_cast<char>(c));
  return fmt::format("\\{:03o}", c);
}

class TextPrinter {
 public:
  TextPrinter(const EvalContext& cx, const PrintOptions& opt) : cx_(cx), opt_(opt) {}

  // The object of type `t` whose bytes are `b`, at guest address `addr`.
  std::string object(const Type* t, Bytes b, std::uint64_t addr, bool top) {
    const Type* s = cx_.types.complete(strip(t));
    switch (s->kind) {
      case TypeKind::Struct:
      case TypeKind::Union: return aggregate(s, b, addr);
      case TypeKind::Array:
        // A flexible or zero-length array member (`int data[]`, `u8 x[0]`)
        // has nothing of its own to print: its address, as gdb shows it
        // (and an empty string for chars, as gdb does).
        if (s->flexible || s->dims[0] == 0)
          return fmt::format("0x{:x}", addr) + (is_char(strip(cx_.types.element_of(s))) ? " \"\"" : "");
        return array(s, b, addr);
      default: return scalar(t, s, b.scalar(s->size), top);
    }
  }

  // `raw`: the object's bytes as an integer (not yet sign-extended).
  std::string scalar(const Type* t, const Type* s, std::uint64_t raw, bool top) {
    raw = integer_value(s, raw);
    switch (s->kind) {
      case TypeKind::Pointer: return pointer(t, s, raw, top);
      case TypeKind::Enum:
        if (const std::string* name = enumerator_name(s, raw)) return *name;
        return is_signed(s) ? std::to_string(static_cast<std::int64_t>(raw)) : std::to_string(raw);
      case TypeKind::Base: return base(s, raw);
      default: return fmt::format("<{}>", t->c_name());  // void, function: nothing to show
    }
  }

 private:
  static bool is_char(const Type* s) {
    return s->kind == TypeKind::Base && s->size == 1 &&
           (s->encoding == sym::Encoding::SignedChar || s->encoding == sym::Encoding::UnsignedChar);
  }

  std::string base(const Type* s, std::uint64_t raw) {
    switch (s->encoding) {
      case sym::Encoding::Bool: return raw == 0 ? "false" : raw == 1 ? "true" : std::to_string(raw);
      case sym::Encoding::Float:
        if (auto d = float_value(s, raw)) {
          // Shortest round trip of the float's own precision (0.1f: "0.1").
          return s->size == 4 ? fmt::format("{}", static_cast<float>(*d)) : fmt::format("{}", *d);
        }
        return fmt::format("<{}-byte float>", s->size);
      case sym::Encoding::SignedChar:
      case sym::Encoding::UnsignedChar:
        if (s->size == 1) {
          auto c = static_cast<unsigned char>(raw);
          std::string n = s->encoding == sym::Encoding::SignedChar ? std::to_string(static_cast<signed char>(c))
                                                                   : std::to_string(c);
          return n + " '" + escape(c, '\'') + "'";
        }
        [[fallthrough]];
      default:
        return is_signed(s) ? std::to_string(static_cast<std::int64_t>(raw)) : std::to_string(raw);
    }
  }

  std::string pointer(const Type* t, const Type* s, std::uint64_t raw, bool top) {
    std::string hex = fmt::format("0x{:x}", raw);
    if (is_char(strip(s->target))) return raw == 0 ? hex : hex + " " + pointed_string(raw);
    return top ? "(" + t->c_name() + ") " + hex : hex;
  }

  // The NUL-terminated string at `addr`, read a page at most at a time;
  // where a chunk fails, byte by byte up to the first unreadable byte.
  std::string pointed_string(std::uint64_t addr) {
    std::string s;
    bool ended = false, failed = false;
    while (!ended && !failed && s.size() < opt_.max_elements) {
      std::uint64_t at = addr + s.size();
      std::size_t n = std::min<std::uint64_t>(4096 - (at & 4095), opt_.max_elements - s.size());
      std::string chunk;
      try {
        chunk = cx_.memory.read_bytes(at, n);
      } catch (const Error&) {
        for (std::size_t i = 0; i < n; ++i) {
          try {
            chunk += cx_.memory.read_bytes(at + i, 1);
          } catch (const Error&) {
            failed = true;
            break;
          }
        }
      }
      std::size_t nul = chunk.find('\0');
      ended = nul != std::string::npos;
      s += chunk.substr(0, ended ? nul : chunk.size());
    }
    if (s.empty() && failed) return fmt::format("<error: Cannot access memory at address 0x{:x}>", addr);
    std::string out = "\"";
    for (unsigned char c : s) out += escape(c, '"');
    return out + (ended || failed ? "\"" : "\"...");
  }

  std::string aggregate(const Type* s, Bytes b, std::uint64_t addr) {
    std::string out = "{";
    bool first = true;
    for (const auto& m : s->members) {
      if (!first) out += ", ";
      first = false;
      if (!m.name.empty()) out += m.name + " = ";
      if (m.bit_size) {
        const Type* ms = cx_.types.complete(strip(m.type));
        out += scalar(m.type, ms, b.bits(m.offset, m.bit_offset, m.bit_size, is_signed(ms)), false);
      } else {
        out += object(m.type, b.sub(m.offset, size_of(cx_, m.type)), addr + m.offset, false);
      }
    }
    return out + "}";
  }

  // Like gdb: a run of more than repeat_threshold equal elements prints
  // once with `<repeats N times>` and counts as repeat_threshold elements
  // toward max_elements; "..." says the array went on.
  std::string array(const Type* s, Bytes b, std::uint64_t addr) {
    const Type* elem = cx_.types.element_of(s);
    std::uint64_t esize = size_of(cx_, elem);
    std::uint64_t n = esize ? b.size() / esize : 0;
    bool cut = n < s->dims[0];  // read_object read a prefix
    if (is_char(strip(elem))) return chars(b, n, cut);
    auto same = [&](std::uint64_t i, std::uint64_t j) {
      for (std::uint64_t k = 0; k < esize; ++k)
        if (b.byte(i * esize + k) != b.byte(j * esize + k)) return false;
      return true;
    };
    std::string out;
    std::uint64_t i = 0, printed = 0;
    while (i < n && printed < opt_.max_elements) {
      std::uint64_t j = i + 1;
      while (j < n && same(i, j)) ++j;
      std::string item = object(elem, b.sub(i * esize, esize), addr + i * esize, false);
      if (!out.empty()) out += ", ";
      if (j - i > opt_.repeat_threshold) {
        out += fmt::format("{} <repeats {} times>", item, j - i);
        printed += opt_.repeat_threshold;
        i = j;
      } else {
        out += item;
        ++printed;
        ++i;
      }
    }
    return "{" + out + (i < n || cut ? "..." : "") + "}";
  }

  // A char array as a string; its one trailing NUL is the terminator, not shown.
  std::string chars(Bytes b, std::uint64_t n, bool cut) {
    if (!cut && n > 0 && b.byte(n - 1) == 0) --n;
    std::string out, run;
    auto flush = [&] {
      if (!run.empty()) out += (out.empty() ? "\"" : ", \"") + run + "\"";
      run.clear();
    };
    std::uint64_t i = 0, printed = 0;
    while (i < n && printed < opt_.max_elements) {
      std::uint64_t j = i + 1;
      while (j < n && b.byte(j) == b.byte(i)) ++j;
      if (j - i > opt_.repeat_threshold) {
        flush();
        out += fmt::format("{}'{}' <repeats {} times>", out.empty() ? "" : ", ", escape(b.byte(i), '\''), j - i);
        printed += opt_.repeat_threshold;
        i = j;
      } else {
        run += escape(b.byte(i), '"');
        ++printed;
        ++i;
      }
    }
    flush();
    if (out.empty()) out = "\"\"";
    return out + (i < n || cut ? "..." : "");
  }

  const EvalContext& cx_;
  const PrintOptions& opt_;
};

}  // namespace

std::string format_value(const EvalContext& cx, const Value& v, const PrintOptions& opt) {
  TextPrinter p(cx, opt);
  const Type* s = cx.types.complete(strip(v.type));
  if (v.bit_size || !v.address)
    return p.scalar(v.type, s, read_scalar(cx, v), true);
  std::vector<std::byte> buf = read_object(cx, v);
  return p.object(v.type, Bytes(buf), *v.address, true);
}

}  // namespace xentt::vmi
