// The evaluator: a recursive-descent parser that computes as it parses
// (expressions are one line; there is nothing to optimize or re-run).
#include "xentt/vmi/typed_value.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "expr_lexer.h"
#include "value_bytes.h"
#include "xentt/base/error.h"
#include "xentt/base/le_bytes.h"

namespace xentt::vmi {

using sym::Type;
using sym::TypeKind;
using sym::strip;

void read_for(const EvalContext& cx, const std::string& what, std::uint64_t addr, std::span<std::byte> out) {
  try {
    cx.memory.read(addr, out);
  } catch (const Error& e) {
    throw Error(e.kind(), what + ": " + e.what());
  }
}

std::string read_c_string(const EvalContext& cx, const std::string& what, std::uint64_t addr, std::size_t size) {
  std::string s(size, '\0');
  read_for(cx, what, addr, std::as_writable_bytes(std::span(s)));
  s.resize(std::min(s.find('\0'), s.size()));
  return s;
}

std::uint64_t size_of(const EvalContext& cx, const Type* t) {
  const Type* s = cx.types.complete(strip(t));
  if (s->kind == TypeKind::Array) {
    std::uint64_t n = size_of(cx, s->target);  // the element may have been a declaration when s was built
    for (auto d : s->dims) n *= d;
    return n;
  }
  return s->size;
}

std::uint64_t read_u64_for(const EvalContext& cx, const std::string& what, std::uint64_t addr) {
  unsigned char b[8];
  read_for(cx, what, addr, std::as_writable_bytes(std::span(b)));
  return le::get_u64(b);
}

std::uint64_t evaluate_scalar(const EvalContext& cx, std::string_view expr) {
  return read_scalar(cx, evaluate(cx, expr));
}

std::uint64_t read_scalar(const EvalContext& cx, const Value& v) {
  const Type* s = cx.types.complete(strip(v.type));
  if (s->kind == TypeKind::Array && v.address) return *v.address;  // an array decays to its address
  bool integral = s->kind == TypeKind::Pointer || s->kind == TypeKind::Enum ||
                  (s->kind == TypeKind::Base && s->encoding != sym::Encoding::Float);
  if (!integral || s->size == 0 || s->size > 8)
    throw bad_input(fmt::format("'{}' is not an integer or pointer (its type is {})", v.expr, v.type->c_name()));
  if (!v.address) return v.immediate;
  if (v.bit_size) {
    // Up to 64 bits starting anywhere in a byte: at most 9 bytes.
    std::array<std::byte, 9> b{};
    std::size_t n = (v.bit_offset + v.bit_size + 7) / 8;
    read_for(cx, v.expr, *v.address, std::span(b.data(), n));
    return Bytes(b).bits(0, v.bit_offset, v.bit_size, is_signed(s));
  }
  std::array<std::byte, 8> b{};
  read_for(cx, v.expr, *v.address, std::span(b.data(), s->size));
  return integer_value(s, Bytes(b).scalar(s->size));
}

namespace {

using detail::Tok;
using detail::Token;

class Parser {
 public:
  Parser(const EvalContext& cx, std::string_view src) : cx_(cx), src_(src), toks_(detail::lex(src)) {}

  Value parse() {
    Value v = additive();
    if (peek().kind != Tok::End) throw error(peek(), fmt::format("unexpected '{}'", peek().text));
    return v;
  }

 private:
  const Token& peek(std::size_t k = 0) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  bool is(std::string_view p, std::size_t k = 0) const { return peek(k).kind == Tok::Punct && peek(k).text == p; }
  Error error(const Token& at, const std::string& what) const {
    return bad_input(fmt::format("expression '{}', column {}: {}", excerpt(src_), at.column, what));
  }
  void expect(std::string_view p) {
    if (!is(p)) throw error(peek(), fmt::format("expected '{}'", p));
    ++pos_;
  }
  std::string ident() {
    if (peek().kind != Tok::Ident) throw error(peek(), "expected a field name");
    return toks_[pos_++].text;
  }

  // E + E, E - E with C's pointer arithmetic: a pointer moves by its
  // target's size (void *: bytes, as gdb does), two pointers subtract to
  // a count of elements, an array is its first element's address.
  Value additive() {
    Value v = unary();
    while (is("+") || is("-")) {
      bool minus = is("-");
      ++pos_;
      Value r = unary();
      v = arith(v, r, minus);
    }
    return v;
  }

  // The element size a pointer (or array) `v` steps by; 0 when not one.
  std::uint64_t stride(const Value& v) {
    const Type* s = strip(v.type);
    if (s->kind == TypeKind::Array) return size_of(cx_, cx_.types.element_of(s));
    if (s->kind != TypeKind::Pointer) return 0;
    std::uint64_t n = size_of(cx_, s->target);
    return n ? n : 1;
  }

  Value arith(const Value& a, const Value& b, bool minus) {
    std::string expr = a.expr + (minus ? " - " : " + ") + b.expr;
    std::uint64_t sa = stride(a), sb = stride(b);
    auto pointer_type = [&](const Value& v) {
      const Type* s = strip(v.type);
      return s->kind == TypeKind::Array ? cx_.types.pointer_to(cx_.types.element_of(s)) : v.type;
    };
    std::uint64_t x = read_scalar(cx_, a), y = read_scalar(cx_, b);
    if (sa && sb) {
      if (!minus || sa != sb)
        throw bad_input(fmt::format("'{}': pointers only subtract, and only pointers to the same size", expr));
      return Value{cx_.types.long_type(), std::nullopt, static_cast<std::uint64_t>(static_cast<std::int64_t>(x - y) /
                                                                                  static_cast<std::int64_t>(sa)),
                   0, 0, expr};
    }
    if (sb && minus) throw bad_input(fmt::format("'{}': cannot subtract a pointer from an integer", expr));
    if (sa) return Value{pointer_type(a), std::nullopt, minus ? x - y * sa : x + y * sa, 0, 0, expr};
    if (sb) return Value{pointer_type(b), std::nullopt, y + x * sb, 0, 0, expr};
    return Value{cx_.types.long_type(), std::nullopt, minus ? x - y : x + y, 0, 0, expr};
  }

  Value unary() {
    // Each level is a C++ frame: a deep `((((...` must not overflow the stack.
    if (++depth_ > kMaxDepth) throw error(peek(), fmt::format("nested more than {} deep", kMaxDepth));
    struct Leave {
      int& d;
      ~Leave() { --d; }
    } leave{depth_};
    if (is("*")) {
      ++pos_;
      Value v = unary();
      return deref(v, "*" + v.expr);
    }
    if (is("-")) {
      ++pos_;
      Value v = unary();
      const Type* s = strip(v.type);
      if (s->kind == TypeKind::Pointer || s->kind == TypeKind::Array)
        throw bad_input(fmt::format("cannot negate '{}' (its type is {})", v.expr, v.type->c_name()));
      return Value{cx_.types.long_type(), std::nullopt, 0 - read_scalar(cx_, v), 0, 0, "-" + v.expr};
    }
    if (is("&")) {
      ++pos_;
      Value v = unary();
      if (!v.address || v.bit_size) throw bad_input(fmt::format("cannot take the address of '{}'", v.expr));
      return Value{cx_.types.pointer_to(v.type), std::nullopt, *v.address, 0, 0, "&" + v.expr};
    }
    if (is("(")) {
      if (auto cast = cast_type()) {
        Value v = unary();
        return convert(*cast, v);
      }
    }
    return postfix();
  }

  // At "(": a cast's type if the tokens read `( [struct|union|enum] WORDS *... )`
  // followed by the start of an operand, and the words name a type.
  std::optional<const Type*> cast_type() {
    std::size_t k = 1;
    std::string name;
    while (peek(k).kind == Tok::Ident) {
      const std::string& w = peek(k).text;
      if (w != "const" && w != "volatile") name += (name.empty() ? "" : " ") + w;
      ++k;
    }
    std::size_t stars = 0;
    while (is("*", k)) ++stars, ++k;
    if (name.empty() || !is(")", k)) return std::nullopt;
    const Token& after = peek(k + 1);
    bool operand = after.kind == Tok::Ident || after.kind == Tok::Number ||
                   (after.kind == Tok::Punct && (after.text == "(" || after.text == "*" || after.text == "&" || after.text == "-"));
    if (!operand) return std::nullopt;
    const Type* t = cx_.types.find_type(name);
    // `(x) - 1` subtracts from a variable x.
    if (!t && stars == 0 && after.text == "-" && cx_.types.find_variable(name)) return std::nullopt;
    if (!t) {
      // `(x) y` cannot be anything but a cast, so an unknown type is the error.
      throw error(peek(1), fmt::format("no type '{}' in {}", name, cx_.types.path()));
    }
    for (std::size_t i = 0; i < stars; ++i) t = cx_.types.pointer_to(t);
    pos_ += k + 1;
    return t;
  }

  Value convert(const Type* to, const Value& v) {
    const Type* s = strip(to);
    std::string expr = "(" + to->c_name() + ")" + v.expr;
    if (s->kind != TypeKind::Pointer && s->kind != TypeKind::Base && s->kind != TypeKind::Enum)
      throw bad_input(fmt::format("cannot cast '{}' to {}: casts are to pointers and integers", v.expr, to->c_name()));
    std::uint64_t x = read_scalar(cx_, v);
    if (s->kind != TypeKind::Pointer && s->size && s->size < 8) {
      x &= (std::uint64_t{1} << (8 * s->size)) - 1;
      x = integer_value(s, x);
    }
    return Value{to, std::nullopt, x, 0, 0, expr};
  }

  Value postfix() {
    Value v = primary();
    for (;;) {
      if (is(".") || is("->")) {
        bool arrow = is("->");
        ++pos_;
        std::string f = ident();
        // Like gdb, `.` through a pointer and `->` on a struct both work.
        const Type* s = strip(v.type);
        Value base = s->kind == TypeKind::Pointer ? deref(v, v.expr) : v;
        v = member(base, f, v.expr + (arrow ? "->" : ".") + f);
      } else if (is("[")) {
        ++pos_;
        Value ix = additive();
        expect("]");
        v = index(v, static_cast<std::int64_t>(read_scalar(cx_, ix)), v.expr + "[" + ix.expr + "]");
      } else {
        return v;
      }
    }
  }

  Value primary() {
    const Token& t = peek();
    if (t.kind == Tok::Number) {
      ++pos_;
      return Value{cx_.types.long_type(), std::nullopt, t.number, 0, 0, t.text};
    }
    if (t.kind == Tok::Ident) {
      ++pos_;
      return variable(t.text);
    }
    if (is("(")) {
      ++pos_;
      Value v = additive();
      expect(")");
      v.expr = "(" + v.expr + ")";
      return v;
    }
    throw error(t, t.kind == Tok::End ? "expression ends too early" : fmt::format("unexpected '{}'", t.text));
  }

  Value variable(const std::string& name) {
    sym::Variable var = cx_.types.variable(name);
    std::uint64_t addr = var.address + cx_.bias;
    if (var.per_cpu) {
      if (!cx_.per_cpu_offset)
        throw bad_input(fmt::format("'{}' is a per-CPU variable: choose a CPU to read its copy", name));
      addr = var.address + cx_.per_cpu_offset();
    }
    return Value{var.type, addr, 0, 0, 0, name};
  }

  Value deref(const Value& v, const std::string& expr) {
    const Type* s = strip(v.type);
    if (s->kind == TypeKind::Array && v.address)
      return Value{cx_.types.element_of(s), *v.address, 0, 0, 0, expr};
    if (s->kind != TypeKind::Pointer)
      throw bad_input(fmt::format("'{}' is not a pointer (its type is {})", v.expr, v.type->c_name()));
    const Type* to = strip(s->target);
    if (to->kind == TypeKind::Void || to->kind == TypeKind::Function)
      throw bad_input(fmt::format("cannot dereference '{}' of type {}: cast it first, as in (struct NAME *){}", v.expr,
                                  v.type->c_name(), v.expr));
    return Value{s->target, read_scalar(cx_, v), 0, 0, 0, expr};
  }

  Value member(const Value& v, const std::string& name, const std::string& expr) {
    sym::Member m = cx_.types.member(v.type, name);
    if (!v.address) throw bad_input(fmt::format("'{}' is not in memory", v.expr));
    return Value{m.type, *v.address + m.offset, 0, m.bit_offset, m.bit_size, expr};
  }

  Value index(const Value& v, std::int64_t i, const std::string& expr) {
    const Type* s = strip(v.type);
    const Type* elem;
    std::uint64_t base;
    if (s->kind == TypeKind::Array && v.address) {
      elem = cx_.types.element_of(s);
      base = *v.address;
    } else if (s->kind == TypeKind::Pointer) {
      elem = s->target;
      if (strip(elem)->kind == TypeKind::Void) throw bad_input(fmt::format("cannot index '{}' of type void *", v.expr));
      base = read_scalar(cx_, v);
    } else {
      throw bad_input(fmt::format("'{}' is not an array or pointer (its type is {})", v.expr, v.type->c_name()));
    }
    std::uint64_t addr = base + static_cast<std::uint64_t>(i) * size_of(cx_, elem);
    return Value{elem, addr, 0, 0, 0, expr};
  }

  const EvalContext& cx_;
  std::string_view src_;
  std::vector<Token> toks_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  static constexpr int kMaxDepth = 200;
};

}  // namespace

Value evaluate(const EvalContext& cx, std::string_view expr) { return Parser(cx, expr).parse(); }

}  // namespace xentt::vmi
