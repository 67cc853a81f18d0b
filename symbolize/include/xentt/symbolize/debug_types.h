// xentt/symbolize/debug_types.h: the C types and global variables of an ELF
// file's DWARF, as VMI needs them to read guest memory by name
// (`init_task.comm`, `*init_task.mm`): a type model that says how to read
// and print bytes, and two name indexes (variables, types).
//
// Read with elfutils libdw, not with the symbolizer's own DWARF parser
// (dwarf_unit/dwarf_scopes): that parser is tuned for one job (address ->
// lines and inline scopes, scanning every DIE in parallel) and decodes no
// types; libdw gives type DIEs, attribute integration (DW_AT_specification,
// DW_AT_abstract_origin) and location expressions for free, and typed reads
// touch a few hundred DIEs per query, where its speed is no concern.
//
// Costs: open() maps the file and reads the ELF headers only (milliseconds,
// even for a 600 MB vmlinux). The first lookup builds both name indexes in
// one pass over the top-level DIEs of every unit (no nested DIE is decoded:
// sibling links skip them): measured 0.5 s for Debian's 6.1 vmlinux (160
// MB of .debug_info, in the page cache) on 2 cores at load 5.7; a
// variable DWARF only declares costs one .symtab read more (0.03 s). A
// struct is converted when first reached (task_struct: 1 ms) and kept;
// the objects returned live as long as the DebugTypes. Calls are
// serialized by an internal mutex, so threads may share one DebugTypes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace xentt::sym {

enum class TypeKind {
  Void,      // `void` (the target of `void *`), no size
  Base,      // int, char, _Bool, float: see `encoding`
  Pointer,   // `target` is the pointee (Void for `void *`)
  Array,     // `target` is the element; `dims` the lengths, outermost first
  Struct,    // `members`
  Union,     // `members`, all at offset 0
  Enum,      // `enumerators`, `encoding` says the signedness
  Typedef,   // `name` is the typedef's, `target` what it names
  Const,     // `target` is the qualified type
  Volatile,  // `target` is the qualified type
  Function,  // `target` returns, `members` are the parameters (unnamed); reached through pointers
};

enum class Encoding { Signed, Unsigned, SignedChar, UnsignedChar, Bool, Float };

struct Type;

// A struct or union member. Byte-aligned members have bit_size 0; a
// bitfield occupies bits [bit_offset, bit_offset + bit_size) counted from
// the least significant bit of the little-endian bytes at `offset`
// (DW_AT_data_bit_offset, or the DWARF 2 DW_AT_bit_offset converted).
struct Member {
  std::string name;  // "" for an anonymous struct or union member
  const Type* type = nullptr;
  std::uint64_t offset = 0;
  std::uint32_t bit_offset = 0;
  std::uint32_t bit_size = 0;
};

struct Enumerator {
  std::string name;
  std::int64_t value = 0;  // unsigned enums: the bits, read as unsigned
};

struct Type {
  TypeKind kind = TypeKind::Void;
  std::string name;         // "int", "task_struct" (the tag), "u64"; "" if anonymous
  std::uint64_t size = 0;   // in bytes (0: void, function, incomplete, flexible array)
  Encoding encoding = Encoding::Signed;
  const Type* target = nullptr;
  std::vector<std::uint64_t> dims;  // Array: lengths, outermost first
  bool flexible = false;            // Array: the outermost length is unknown (`x[]`)
  bool declaration = false;         // Struct/Union/Enum: declared only (see complete())
  std::vector<Member> members;
  std::vector<Enumerator> enumerators;

  // C spelling: "struct task_struct", "unsigned long", "u64", "char [16]",
  // "struct list_head *", "void (*)(void)". Costs a walk down `target`.
  std::string c_name() const;
};

// Skips typedefs, const and volatile: the type that says how to read bytes.
const Type* strip(const Type* t);

struct Variable {
  std::string name;
  std::uint64_t address = 0;  // link-time address (per-CPU: offset in .data..percpu)
  const Type* type = nullptr;
  // In .data..percpu: each CPU's copy is at address + __per_cpu_offset[cpu].
  bool per_cpu = false;
};

class DebugTypes {
 public:
  // Opens `path` (an ELF with DWARF: a vmlinux from the -dbg package, a
  // program built with -g). Throws BadInput naming the file when it cannot
  // be read, is no ELF, or has no .debug_info (saying where DWARF comes
  // from); Runtime when libdw fails otherwise. Cheap (see above).
  static std::unique_ptr<DebugTypes> open(const std::string& path);
  ~DebugTypes();
  DebugTypes(const DebugTypes&) = delete;
  DebugTypes& operator=(const DebugTypes&) = delete;

  const std::string& path() const;

  // The global variable `name`: one with a static address (DW_OP_addr) in
  // DWARF, else a declaration's type with the ELF symbol's address (the
  // kernel's `jiffies` is a linker alias of `jiffies_64`). An array DWARF
  // gives no length (`extern const char linux_banner[]`) gets its ELF
  // symbol's size. A `static` name defined by several units: the first
  // unit's. nullopt when unknown. The first call of this or find_type
  // builds the indexes (0.5 s on a kernel). Like every lookup here, throws
  // BadInput when the file's types are corrupt (nested beyond reason).
  std::optional<Variable> find_variable(const std::string& name) const;
  // The same, throwing BadInput "no global variable NAME in FILE".
  Variable variable(const std::string& name) const;

  // A type by its C name: "struct task_struct", "union X", "enum Y", a
  // typedef or base type name ("u64", "unsigned long": C's short spellings
  // of base types find GCC's "long unsigned int"), or a bare tag
  // ("task_struct": struct, union, enum, in that order). A complete
  // definition is preferred over a declaration. nullptr when unknown.
  const Type* find_type(const std::string& name) const;
  // The same, throwing BadInput "no type NAME in FILE".
  const Type& type(const std::string& name) const;

  // The definition of a struct, union or enum known only by its
  // declaration here (DWARF declares `struct mm_struct` in units that only
  // point to it); `t` itself when complete or when no unit defines it.
  const Type* complete(const Type* t) const;
  // `T *`, made once per T.
  const Type* pointer_to(const Type* t) const;
  // The element of an array: its `target`, or for `T x[2][3]` an array
  // `T [3]` made once.
  const Type* element_of(const Type* array) const;
  // The type used for integer literals in expressions ("long", 8 bytes).
  const Type* long_type() const;

  // The member `name` of struct/union `t` (typedefs stripped, declaration
  // completed), searching anonymous members too; its offset is from the
  // start of `t`. Throws BadInput naming the struct and a few of its
  // member names when there is no such member.
  Member member(const Type* t, const std::string& name) const;

  struct Impl;

 private:
  explicit DebugTypes(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xentt::sym
