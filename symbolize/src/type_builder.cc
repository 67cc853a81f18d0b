#include "type_builder.h"

#include <dwarf.h>
#include <fmt/format.h>

#include "xentt/base/error.h"

namespace xentt::sym::detail {

namespace {

std::uint64_t udata(Dwarf_Die* die, unsigned name, std::uint64_t absent = 0) {
  Dwarf_Attribute a;
  Dwarf_Word v;
  if (!dwarf_attr_integrate(die, name, &a) || dwarf_formudata(&a, &v) != 0) return absent;
  return v;
}

bool has(Dwarf_Die* die, unsigned name) {
  Dwarf_Attribute a;
  return dwarf_attr_integrate(die, name, &a) != nullptr;
}

Encoding encoding_of(Dwarf_Die* die) {
  switch (udata(die, DW_AT_encoding)) {
    case DW_ATE_signed: return Encoding::Signed;
    case DW_ATE_signed_char: return Encoding::SignedChar;
    case DW_ATE_unsigned_char: return Encoding::UnsignedChar;
    case DW_ATE_boolean: return Encoding::Bool;
    case DW_ATE_float: return Encoding::Float;
    default: return Encoding::Unsigned;  // unsigned, UTF, address
  }
}

}  // namespace

Type* TypeBuilder::make() {
  owned_.push_back(std::make_unique<Type>());
  return owned_.back().get();
}

const Type* TypeBuilder::void_type() {
  if (!void_) {
    Type* t = make();
    t->name = "void";
    void_ = t;
  }
  return void_;
}

const Type* TypeBuilder::long_type() {
  if (!long_) {
    Type* t = make();
    t->kind = TypeKind::Base;
    t->name = "long";
    t->size = 8;
    long_ = t;
  }
  return long_;
}

const Type* TypeBuilder::pointer_to(const Type* target) {
  auto [it, fresh] = pointers_.try_emplace(target, nullptr);
  if (fresh) {
    Type* t = make();
    t->kind = TypeKind::Pointer;
    t->size = 8;
    t->target = target;
    it->second = t;
  }
  return it->second;
}

const Type* TypeBuilder::element_of(const Type* array) {
  if (array->dims.size() < 2) return array->target;
  auto [it, fresh] = elements_.try_emplace(array, nullptr);
  if (fresh) {
    Type* t = make();
    t->kind = TypeKind::Array;
    t->target = array->target;
    t->dims.assign(array->dims.begin() + 1, array->dims.end());
    t->size = array->target->size;
    for (auto d : t->dims) t->size *= d;
    it->second = t;
  }
  return it->second;
}

const Type* TypeBuilder::array_of(const Type* element, std::uint64_t n) {
  auto [it, fresh] = arrays_.try_emplace({element, n}, nullptr);
  if (fresh) {
    Type* t = make();
    t->kind = TypeKind::Array;
    t->target = element;
    t->dims = {n};
    t->size = element->size * n;
    it->second = t;
  }
  return it->second;
}

const Type* TypeBuilder::type_of(Dwarf_Die* die) {
  Dwarf_Attribute a;
  Dwarf_Die target;
  if (!dwarf_attr_integrate(die, DW_AT_type, &a) || !dwarf_formref_die(&a, &target)) return void_type();
  return convert(&target);
}

const Type* TypeBuilder::convert(Dwarf_Die* die) {
  Dwarf_Off off = dwarf_dieoffset(die);
  if (poisoned_ || depth_ >= kMaxDepth) {
    poisoned_ = true;
    throw bad_input(fmt::format("DWARF types nest more than {} deep (at DIE 0x{:x}): a corrupt file", kMaxDepth, off));
  }
  if (auto it = by_die_.find(off); it != by_die_.end()) return it->second;
  ++depth_;
  struct Leave {
    int& d;
    ~Leave() { --d; }
  } leave{depth_};

  int tag = dwarf_tag(die);
  // restrict and _Atomic change nothing about how bytes read: see through.
  if (tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type) {
    const Type* t = type_of(die);
    by_die_[off] = t;
    return t;
  }
  Type* t = make();
  by_die_[off] = t;  // before converting what it reaches: recursive types end here
  if (const char* n = dwarf_diename(die)) t->name = n;
  t->size = udata(die, DW_AT_byte_size);
  switch (tag) {
    case DW_TAG_base_type:
      t->kind = TypeKind::Base;
      t->encoding = encoding_of(die);
      break;
    case DW_TAG_pointer_type:
    case DW_TAG_reference_type:
    case DW_TAG_rvalue_reference_type:
      t->kind = TypeKind::Pointer;
      if (!t->size) t->size = 8;
      t->target = type_of(die);
      break;
    case DW_TAG_typedef:
    case DW_TAG_const_type:
    case DW_TAG_volatile_type:
      t->kind = tag == DW_TAG_typedef ? TypeKind::Typedef : tag == DW_TAG_const_type ? TypeKind::Const : TypeKind::Volatile;
      t->target = type_of(die);
      t->size = t->target->size;  // 0 while a recursive struct is being built: size_of() re-reads
      break;
    case DW_TAG_structure_type:
    case DW_TAG_class_type:
    case DW_TAG_union_type:
      t->kind = tag == DW_TAG_union_type ? TypeKind::Union : TypeKind::Struct;
      t->declaration = has(die, DW_AT_declaration);
      fill_struct(die, *t);
      break;
    case DW_TAG_array_type:
      t->kind = TypeKind::Array;
      t->target = type_of(die);
      fill_array(die, *t);
      break;
    case DW_TAG_enumeration_type:
      t->kind = TypeKind::Enum;
      t->declaration = has(die, DW_AT_declaration);
      fill_enum(die, *t);
      break;
    case DW_TAG_subroutine_type:
      t->kind = TypeKind::Function;
      t->target = type_of(die);
      fill_function(die, *t);
      break;
    default:  // DW_TAG_unspecified_type and the like: nothing to read
      t->kind = TypeKind::Void;
      if (t->name.empty()) t->name = "void";
      break;
  }
  // A corrupt file can loop a chain of targets (typedef A -> typedef B ->
  // A), where strip() and c_name() would never end; C types never do
  // (recursion goes through struct members). Cut such a loop at void.
  for (const Type* p = t->target; p; p = p->target) {
    if (p == t) {
      t->target = void_type();
      break;
    }
  }
  return t;
}

void TypeBuilder::fill_struct(Dwarf_Die* die, Type& t) {
  Dwarf_Die child;
  if (dwarf_child(die, &child) != 0) return;
  do {
    if (dwarf_tag(&child) != DW_TAG_member) continue;
    Member m;
    if (const char* n = dwarf_diename(&child)) m.name = n;
    m.type = type_of(&child);
    // DW_AT_data_member_location: a constant in every producer we read
    // (the DWARF 2 location-expression form is not decoded: offset 0).
    m.offset = udata(&child, DW_AT_data_member_location);
    m.bit_size = static_cast<std::uint32_t>(udata(&child, DW_AT_bit_size));
    if (m.bit_size) {
      std::uint64_t bits;
      if (has(&child, DW_AT_data_bit_offset)) {
        bits = udata(&child, DW_AT_data_bit_offset);  // DWARF 4+: from the struct's start
      } else {
        // DWARF 2/3 DW_AT_bit_offset counts from the most significant bit
        // of a storage unit of DW_AT_byte_size bytes at the member location.
        std::uint64_t unit = udata(&child, DW_AT_byte_size, m.type->size);
        bits = m.offset * 8 + unit * 8 - udata(&child, DW_AT_bit_offset) - m.bit_size;
      }
      m.offset = bits / 8;
      m.bit_offset = static_cast<std::uint32_t>(bits % 8);
    }
    t.members.push_back(std::move(m));
  } while (dwarf_siblingof(&child, &child) == 0);
}

void TypeBuilder::fill_array(Dwarf_Die* die, Type& t) {
  Dwarf_Die child;
  if (dwarf_child(die, &child) == 0) {
    do {
      if (dwarf_tag(&child) != DW_TAG_subrange_type) continue;
      std::uint64_t n = 0;
      if (has(&child, DW_AT_count)) {
        n = udata(&child, DW_AT_count);
      } else if (has(&child, DW_AT_upper_bound)) {
        // `x[0]` has upper bound -1: DW_FORM_sdata, or all ones in data8.
        // Other dataN forms are unsigned (libdw sign-extends them in
        // dwarf_formsdata: 255 in data1 would read as -1).
        Dwarf_Attribute a;
        dwarf_attr_integrate(&child, DW_AT_upper_bound, &a);
        Dwarf_Sword sb = -1;
        Dwarf_Word ub = ~Dwarf_Word{0};
        if (dwarf_whatform(&a) == DW_FORM_sdata || dwarf_whatform(&a) == DW_FORM_implicit_const) {
          if (dwarf_formsdata(&a, &sb) == 0 && sb >= 0) ub = static_cast<Dwarf_Word>(sb);
        } else {
          dwarf_formudata(&a, &ub);
        }
        n = ub == ~Dwarf_Word{0} ? 0 : ub + 1;
      } else if (t.dims.empty()) {
        t.flexible = true;  // `x[]`
      }
      t.dims.push_back(n);
    } while (dwarf_siblingof(&child, &child) == 0);
  }
  if (t.dims.empty()) {
    t.dims.push_back(0);
    t.flexible = true;
  }
  std::uint64_t size = t.target->size;
  for (auto d : t.dims) size *= d;
  t.size = size;
}

void TypeBuilder::fill_enum(Dwarf_Die* die, Type& t) {
  // The underlying type (DWARF 3+ with GCC) says the signedness; without
  // it an enum is signed only if an enumerator is negative.
  bool known = has(die, DW_AT_type);
  t.encoding = known ? strip(type_of(die))->encoding : Encoding::Unsigned;
  Dwarf_Die child;
  if (dwarf_child(die, &child) != 0) return;
  do {
    if (dwarf_tag(&child) != DW_TAG_enumerator) continue;
    Enumerator e;
    if (const char* n = dwarf_diename(&child)) e.name = n;
    Dwarf_Attribute a;
    if (dwarf_attr(&child, DW_AT_const_value, &a)) {
      Dwarf_Sword s = 0;
      Dwarf_Word u = 0;
      if (dwarf_whatform(&a) == DW_FORM_sdata) {
        dwarf_formsdata(&a, &s);
        e.value = s;
      } else {
        dwarf_formudata(&a, &u);
        e.value = static_cast<std::int64_t>(u);
        // DW_FORM_dataN holds the bits of a value as wide as the enum.
        if (t.size && t.size < 8 && (t.encoding == Encoding::Signed)) {
          unsigned shift = 64 - 8 * static_cast<unsigned>(t.size);
          e.value = static_cast<std::int64_t>(u << shift) >> shift;
        }
      }
      if (!known && e.value < 0) t.encoding = Encoding::Signed;
    }
    t.enumerators.push_back(std::move(e));
  } while (dwarf_siblingof(&child, &child) == 0);
}

void TypeBuilder::fill_function(Dwarf_Die* die, Type& t) {
  Dwarf_Die child;
  if (dwarf_child(die, &child) != 0) return;
  do {
    if (dwarf_tag(&child) == DW_TAG_formal_parameter) t.members.push_back(Member{"", type_of(&child), 0, 0, 0});
  } while (dwarf_siblingof(&child, &child) == 0);
}

}  // namespace xentt::sym::detail
