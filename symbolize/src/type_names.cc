// How C spells a type: the declarator grows inward from the name, so a
// pointer to an array reads "int (*)[4]" and an array of pointers "int *[4]".
#include <string>

#include "xentt/symbolize/debug_types.h"

namespace xentt::sym {

namespace {

std::string head(const Type& t) {
  switch (t.kind) {
    case TypeKind::Struct: return "struct " + (t.name.empty() ? std::string("{...}") : t.name);
    case TypeKind::Union: return "union " + (t.name.empty() ? std::string("{...}") : t.name);
    case TypeKind::Enum: return "enum " + (t.name.empty() ? std::string("{...}") : t.name);
    default: return t.name.empty() ? std::string("void") : t.name;
  }
}

// `t` declaring `inner` (a declarator without the name: "*", "[4]", "(*)").
std::string spell(const Type* t, const std::string& inner) {
  switch (t->kind) {
    case TypeKind::Pointer: {
      const Type* to = t->target;
      bool wrap = to->kind == TypeKind::Array || to->kind == TypeKind::Function;
      return spell(to, wrap ? "(*" + inner + ")" : "*" + inner);
    }
    case TypeKind::Array: {
      std::string dims;
      for (std::size_t i = 0; i < t->dims.size(); ++i)
        dims += i == 0 && t->flexible ? "[]" : "[" + std::to_string(t->dims[i]) + "]";
      return spell(t->target, inner + dims);
    }
    case TypeKind::Function: {
      std::string params;
      for (const auto& p : t->members) params += (params.empty() ? "" : ", ") + p.type->c_name();
      return spell(t->target, inner + "(" + (params.empty() ? "void" : params) + ")");
    }
    case TypeKind::Const:
    case TypeKind::Volatile: {
      const char* q = t->kind == TypeKind::Const ? "const" : "volatile";
      // A qualified array is an array of qualified elements; GCC marks both.
      if (t->target->kind == TypeKind::Array && t->target->target->kind == t->kind) return spell(t->target, inner);
      // "char * const p" qualifies the pointer; "const char *" the pointee.
      if (t->target->kind == TypeKind::Pointer) return spell(t->target, std::string(q) + (inner.empty() ? "" : " " + inner));
      return std::string(q) + " " + spell(t->target, inner);
    }
    default: {
      std::string h = head(*t);
      if (inner.empty()) return h;
      return h + " " + inner;
    }
  }
}

}  // namespace

std::string Type::c_name() const { return spell(this, ""); }

const Type* strip(const Type* t) {
  while (t && (t->kind == TypeKind::Typedef || t->kind == TypeKind::Const || t->kind == TypeKind::Volatile)) t = t->target;
  return t;
}

}  // namespace xentt::sym
