// type_builder.h: DWARF type DIEs -> sym::Type, each DIE converted once.
#pragma once

#include <elfutils/libdw.h>

#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "xentt/symbolize/debug_types.h"

namespace xentt::sym::detail {

class TypeBuilder {
 public:
  // The Type of a type DIE (base, pointer, struct, typedef, ...). Converts
  // the DIE and, eagerly, everything it reaches through members, targets
  // and parameters inside its unit (a struct's graph: hundreds of DIEs for
  // task_struct, a few milliseconds). Declarations stay declarations here;
  // DebugTypes::complete() finds their definitions by name. A recursive
  // type is safe: a DIE is registered before its members are converted.
  // Throws BadInput past kMaxDepth nested conversions (a corrupt file; the
  // deepest in Debian's 6.1 vmlinux is 88), and on every call after that.
  const Type* convert(Dwarf_Die* die);
  static constexpr int kMaxDepth = 2000;
  // The type a DIE's DW_AT_type names (following DW_AT_specification and
  // DW_AT_abstract_origin); `void` when it has none.
  const Type* type_of(Dwarf_Die* die);
  // Types made here, not read from DWARF: `void`, `T *`, `long`.
  const Type* void_type();
  const Type* pointer_to(const Type* t);
  const Type* long_type();
  const Type* element_of(const Type* array);
  // `T [n]`, made once per (T, n).
  const Type* array_of(const Type* element, std::uint64_t n);

 private:
  Type* make();
  void fill_struct(Dwarf_Die* die, Type& t);
  void fill_array(Dwarf_Die* die, Type& t);
  void fill_enum(Dwarf_Die* die, Type& t);
  void fill_function(Dwarf_Die* die, Type& t);

  std::unordered_map<Dwarf_Off, const Type*> by_die_;
  std::map<std::pair<const Type*, std::uint64_t>, const Type*> arrays_;
  std::unordered_map<const Type*, const Type*> pointers_, elements_;
  std::vector<std::unique_ptr<Type>> owned_;
  // Conversion recurses through members and targets: a corrupt file's
  // endless chain must end in an error, not a stack overflow. Once hit,
  // the half-built types are never handed out: every later call throws.
  int depth_ = 0;
  bool poisoned_ = false;
  const Type* void_ = nullptr;
  const Type* long_ = nullptr;
};

}  // namespace xentt::sym::detail
