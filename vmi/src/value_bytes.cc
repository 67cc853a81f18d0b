#include "value_bytes.h"

#include <fmt/format.h>

#include "xentt/base/error.h"

namespace xentt::vmi {

std::vector<std::byte> read_object(const EvalContext& cx, const Value& v) {
  const sym::Type* s = cx.types.complete(sym::strip(v.type));
  std::uint64_t size = size_of(cx, v.type);
  if (s->kind == sym::TypeKind::Array) {
    std::uint64_t esize = size_of(cx, cx.types.element_of(s));
    if (s->flexible) throw bad_input(fmt::format("'{}' is an array of unknown length: index it ({}[0])", v.expr, v.expr));
    constexpr std::uint64_t kArrayCut = 1 << 20;
    if (size > kArrayCut && esize) size = std::max<std::uint64_t>(esize, kArrayCut / esize * esize);
  }
  if (size == 0) throw bad_input(fmt::format("'{}' has no known size (its type is {})", v.expr, v.type->c_name()));
  // No struct VMI prints is this big; a larger size is a bogus type.
  constexpr std::uint64_t kMax = 64 << 20;
  if (size > kMax) throw bad_input(fmt::format("'{}' is {} bytes: too large to print", v.expr, size));
  std::vector<std::byte> buf(size);
  read_for(cx, v.expr, *v.address, buf);
  return buf;
}

}  // namespace xentt::vmi
