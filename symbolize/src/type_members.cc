// Member lookup by name, through anonymous structs and unions (the kernel
// nests many: task_struct's randomized-layout block, page's unions).
#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/symbolize/debug_types.h"

namespace xentt::sym {

namespace {

// `name` in `t` or in one of its anonymous members, offset from `t`'s start.
std::optional<Member> find_member(const DebugTypes& types, const Type* t, const std::string& name) {
  t = types.complete(strip(t));
  if (t->kind != TypeKind::Struct && t->kind != TypeKind::Union) return std::nullopt;
  for (const Member& m : t->members) {
    if (m.name == name) return m;
    if (m.name.empty()) {
      if (auto inner = find_member(types, m.type, name)) {
        inner->offset += m.offset;
        return inner;
      }
    }
  }
  return std::nullopt;
}

// "a, b, c, ... (N members)": what the user could have meant.
std::string some_members(const Type* t) {
  std::string s;
  std::size_t shown = 0;
  for (const Member& m : t->members) {
    if (m.name.empty()) continue;
    if (shown == 8) {
      s += ", ...";
      break;
    }
    s += (shown++ ? ", " : "") + m.name;
  }
  return fmt::format("{} ({} members)", s.empty() ? "none named" : s, t->members.size());
}

}  // namespace

Member DebugTypes::member(const Type* t, const std::string& name) const {
  const Type* s = complete(strip(t));
  if (s->kind != TypeKind::Struct && s->kind != TypeKind::Union)
    throw bad_input(fmt::format("'{}' is not a struct or union: no member '{}'", t->c_name(), name));
  if (s->declaration)
    throw bad_input(fmt::format("'{}' is only declared in {}: its members are unknown", s->c_name(), path()));
  if (auto m = find_member(*this, s, name)) return *m;
  throw bad_input(fmt::format("'{}' has no member '{}'; it has {}", s->c_name(), name, some_members(s)));
}

}  // namespace xentt::sym
