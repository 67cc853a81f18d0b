// The JSON twin of value_printer.cc's text: the same reads, typed values
// instead of gdb notation. Pointers are hex strings (JSON numbers lose
// 64-bit precision in many consumers); integers are numbers.
#include <fmt/format.h>

#include "value_bytes.h"
#include "xentt/vmi/value_printer.h"

namespace xentt::vmi {

using nlohmann::json;
using sym::Type;
using sym::TypeKind;
using sym::strip;

namespace {

// `raw`: the object's bytes as an integer (not yet sign-extended).
json scalar(const Type* s, std::uint64_t raw) {
  raw = integer_value(s, raw);
  switch (s->kind) {
    case TypeKind::Pointer: return fmt::format("0x{:x}", raw);
    case TypeKind::Enum:
      if (const std::string* name = enumerator_name(s, raw)) return *name;
      break;
    case TypeKind::Base:
      if (s->encoding == sym::Encoding::Bool) return raw != 0;
      if (s->encoding == sym::Encoding::Float) {
        if (auto d = float_value(s, raw)) return *d;
        return nullptr;  // long double: not decoded
      }
      break;
    default: return nullptr;
  }
  if (is_signed(s)) return static_cast<std::int64_t>(raw);
  return raw;
}

// Bytes up to the first NUL; what is not printable ASCII as \xNN (keeps
// the JSON valid UTF-8 whatever the guest holds).
std::string c_string(Bytes b, std::uint64_t n) {
  std::string s;
  for (std::uint64_t i = 0; i < n && b.byte(i); ++i) {
    unsigned char c = b.byte(i);
    s += c >= 0x20 && c < 0x7f && c != '\\' ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
  }
  return s;
}

class JsonPrinter {
 public:
  JsonPrinter(const EvalContext& cx, const PrintOptions& opt) : cx_(cx), opt_(opt) {}

  json object(const Type* t, Bytes b) {
    const Type* s = cx_.types.complete(strip(t));
    if (s->kind == TypeKind::Struct || s->kind == TypeKind::Union) {
      json o = json::object();
      members(s, b, o);
      return o;
    }
    if (s->kind == TypeKind::Array) {
      const Type* elem = cx_.types.element_of(s);
      std::uint64_t esize = size_of(cx_, elem);
      std::uint64_t n = std::min<std::uint64_t>(esize ? b.size() / esize : 0, opt_.max_elements);
      const Type* es = strip(elem);
      if (es->kind == TypeKind::Base && es->size == 1 && es->encoding != sym::Encoding::Bool) return c_string(b, n);
      json a = json::array();
      for (std::uint64_t i = 0; i < n; ++i) a.push_back(object(elem, b.sub(i * esize, esize)));
      return a;
    }
    return scalar(s, b.scalar(s->size));
  }

 private:
  // Anonymous members' fields are merged into `o`, as C names them.
  void members(const Type* s, Bytes b, json& o) {
    for (const auto& m : s->members) {
      const Type* ms = cx_.types.complete(strip(m.type));
      if (m.bit_size) {
        o[m.name] = scalar(ms, b.bits(m.offset, m.bit_offset, m.bit_size, is_signed(ms)));
      } else if (m.name.empty() && (ms->kind == TypeKind::Struct || ms->kind == TypeKind::Union)) {
        members(ms, b.sub(m.offset, size_of(cx_, m.type)), o);
      } else {
        o[m.name] = object(m.type, b.sub(m.offset, size_of(cx_, m.type)));
      }
    }
  }

  const EvalContext& cx_;
  const PrintOptions& opt_;
};

}  // namespace

json value_json(const EvalContext& cx, const Value& v, const PrintOptions& opt) {
  json out = {{"expr", v.expr}, {"type", v.type->c_name()}};
  out["address"] = v.address && !v.bit_size ? json(fmt::format("0x{:x}", *v.address)) : json(nullptr);
  const Type* s = cx.types.complete(strip(v.type));
  if (v.bit_size || !v.address) {
    out["value"] = scalar(s, read_scalar(cx, v));
  } else {
    std::vector<std::byte> buf = read_object(cx, v);
    out["value"] = JsonPrinter(cx, opt).object(v.type, Bytes(buf));
  }
  return out;
}

}  // namespace xentt::vmi
