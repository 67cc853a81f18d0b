#include "xentt/symbolize/debug_types.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>
#include <fmt/format.h>

#include <cerrno>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "type_builder.h"
#include "xentt/base/error.h"

namespace xentt::sym {

namespace {

struct VarEntry {
  Dwarf_Off die = 0;
  std::uint64_t address = 0;
  bool located = false;  // a definition with DW_OP_addr; else a declaration
};

// One name index: a definition wins over a declaration, the first of each over later ones.
struct TypeEntry {
  Dwarf_Off die = 0;
  bool declaration = true;
};
using TypeIndex = std::unordered_map<std::string, TypeEntry>;

void index_type(TypeIndex& ix, const char* name, Dwarf_Off off, bool declaration) {
  auto [it, fresh] = ix.try_emplace(name, TypeEntry{off, declaration});
  if (!fresh && it->second.declaration && !declaration) it->second = TypeEntry{off, false};
}

// How people write base types -> how GCC names them in DWARF.
std::string_view gcc_spelling(std::string_view n) {
  static constexpr std::pair<std::string_view, std::string_view> names[] = {
      {"unsigned", "unsigned int"},      {"unsigned long", "long unsigned int"},
      {"long", "long int"},              {"long long", "long long int"},
      {"unsigned long long", "long long unsigned int"},
      {"short", "short int"},            {"unsigned short", "short unsigned int"},
      {"signed", "int"},                 {"signed long", "long int"}};
  for (auto [c, gcc] : names)
    if (n == c) return gcc;
  return n;
}

// A DW_AT_location that is exactly one DW_OP_addr: a static address.
std::optional<std::uint64_t> static_address(Dwarf_Die* die) {
  Dwarf_Attribute a;
  Dwarf_Op* ops;
  size_t n;
  if (!dwarf_attr(die, DW_AT_location, &a) || dwarf_getlocation(&a, &ops, &n) != 0 || n != 1 ||
      ops[0].atom != DW_OP_addr)
    return std::nullopt;
  return ops[0].number;
}

}  // namespace

struct DebugTypes::Impl {
  std::string path;
  int fd = -1;
  Elf* elf = nullptr;
  Dwarf* dw = nullptr;
  std::mutex mu;
  detail::TypeBuilder builder;
  bool indexed = false;
  std::unordered_map<std::string, VarEntry> vars;
  TypeIndex structs, unions, enums, plain;  // plain: typedefs and base types
  std::vector<std::pair<std::uint64_t, std::uint64_t>> percpu;  // [start, end) of .data..percpu
  bool symtab_read = false;
  struct ElfObject {
    std::uint64_t value, size;
  };
  std::unordered_map<std::string, ElfObject> elf_objects;  // for declared-only variables, unsized arrays

  ~Impl() {
    if (dw) dwarf_end(dw);
    if (elf) elf_end(elf);
    if (fd >= 0) ::close(fd);
  }

  void build_index();
  void read_symtab();
  const Type* lookup_type(std::string_view name);
  const Type* die_type(Dwarf_Off off);
  const Type* complete(const Type* t);
};

void DebugTypes::Impl::build_index() {
  if (indexed) return;
  indexed = true;
  // Top-level DIEs only: sibling links (DW_AT_sibling, which GCC and Clang
  // emit for every DIE with children) skip all nested DIEs undecoded.
  Dwarf_CU* cu = nullptr;
  Dwarf_Die cudie, child;
  Dwarf_Half version;
  uint8_t unit_type;
  while (dwarf_get_units(dw, cu, &cu, &version, &unit_type, &cudie, nullptr) == 0) {
    if (dwarf_child(&cudie, &child) != 0) continue;
    do {
      int tag = dwarf_tag(&child);
      switch (tag) {
        case DW_TAG_variable: {
          Dwarf_Attribute a;
          const char* name = dwarf_formstring(dwarf_attr_integrate(&child, DW_AT_name, &a));
          if (!name) break;
          auto addr = static_address(&child);
          auto [it, fresh] = vars.try_emplace(name, VarEntry{dwarf_dieoffset(&child), addr.value_or(0), addr.has_value()});
          if (!fresh && !it->second.located && addr) it->second = VarEntry{dwarf_dieoffset(&child), *addr, true};
          break;
        }
        case DW_TAG_structure_type:
        case DW_TAG_union_type:
        case DW_TAG_enumeration_type:
        case DW_TAG_typedef:
        case DW_TAG_base_type: {
          const char* name = dwarf_diename(&child);
          if (!name) break;
          TypeIndex& ix = tag == DW_TAG_structure_type ? structs
                          : tag == DW_TAG_union_type   ? unions
                          : tag == DW_TAG_enumeration_type ? enums
                                                           : plain;
          index_type(ix, name, dwarf_dieoffset(&child), dwarf_hasattr(&child, DW_AT_declaration));
          break;
        }
        default: break;
      }
    } while (dwarf_siblingof(&child, &child) == 0);
  }
}

// Data symbols of .symtab, read once on the first variable DWARF only declares.
void DebugTypes::Impl::read_symtab() {
  if (symtab_read) return;
  symtab_read = true;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    for (std::size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Sym s;
      if (!gelf_getsym(data, static_cast<int>(i), &s) || s.st_shndx == SHN_UNDEF) continue;
      int type = GELF_ST_TYPE(s.st_info);
      if (type != STT_OBJECT && type != STT_NOTYPE) continue;
      if (const char* n = elf_strptr(elf, sh.sh_link, s.st_name)) elf_objects.try_emplace(n, ElfObject{s.st_value, s.st_size});
    }
  }
}

const Type* DebugTypes::Impl::die_type(Dwarf_Off off) {
  Dwarf_Die die;
  if (!dwarf_offdie(dw, off, &die)) throw runtime_error(fmt::format("{}: DWARF entry at 0x{:x} unreadable", path, off));
  return builder.convert(&die);
}

const Type* DebugTypes::Impl::lookup_type(std::string_view name) {
  build_index();
  auto from = [&](TypeIndex& ix, std::string_view n) -> const Type* {
    auto it = ix.find(std::string(n));
    return it == ix.end() ? nullptr : die_type(it->second.die);
  };
  for (auto [prefix, ix] : {std::pair<std::string_view, TypeIndex*>{"struct ", &structs},
                            {"union ", &unions}, {"enum ", &enums}}) {
    if (name.starts_with(prefix)) return from(*ix, name.substr(prefix.size()));
  }
  if (auto t = from(plain, name)) return t;
  if (auto t = from(plain, gcc_spelling(name))) return t;
  if (auto t = from(structs, name)) return t;
  if (auto t = from(unions, name)) return t;
  return from(enums, name);
}

const Type* DebugTypes::Impl::complete(const Type* t) {
  if (!t || !t->declaration || t->name.empty()) return t;
  build_index();
  TypeIndex& ix = t->kind == TypeKind::Union ? unions : t->kind == TypeKind::Enum ? enums : structs;
  auto it = ix.find(t->name);
  if (it == ix.end() || it->second.declaration) return t;
  return die_type(it->second.die);
}

DebugTypes::DebugTypes(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DebugTypes::~DebugTypes() = default;

std::unique_ptr<DebugTypes> DebugTypes::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  elf_version(EV_CURRENT);
  impl->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (impl->fd < 0) {
    int err = errno;
    throw Error(err == ENOENT || err == EACCES || err == EISDIR ? ErrorKind::BadInput : ErrorKind::Runtime,
                path + ": " + std::system_category().message(err));
  }
  impl->elf = elf_begin(impl->fd, ELF_C_READ_MMAP, nullptr);
  if (!impl->elf || elf_kind(impl->elf) != ELF_K_ELF) throw bad_input(path + ": not an ELF file");
  impl->dw = dwarf_begin_elf(impl->elf, DWARF_C_READ, nullptr);
  if (!impl->dw) {
    throw bad_input(path + ": no DWARF debug info (no .debug_info): for a kernel, use the vmlinux of its -dbg "
                           "package (/usr/lib/debug/boot/vmlinux-VERSION); for a program, build it with -g");
  }
  std::size_t shstrndx;
  if (elf_getshdrstrndx(impl->elf, &shstrndx) == 0) {
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(impl->elf, scn));) {
      GElf_Shdr sh;
      const char* name;
      if (gelf_getshdr(scn, &sh) && (name = elf_strptr(impl->elf, shstrndx, sh.sh_name)) &&
          std::string_view(name) == ".data..percpu")
        impl->percpu.emplace_back(sh.sh_addr, sh.sh_addr + sh.sh_size);
    }
  }
  return std::unique_ptr<DebugTypes>(new DebugTypes(std::move(impl)));
}

const std::string& DebugTypes::path() const { return impl_->path; }

std::optional<Variable> DebugTypes::find_variable(const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  impl_->build_index();
  auto it = impl_->vars.find(name);
  if (it == impl_->vars.end()) return std::nullopt;
  Variable v{name, it->second.address, nullptr, false};
  Dwarf_Die die;
  if (!dwarf_offdie(impl_->dw, it->second.die, &die))
    throw runtime_error(fmt::format("{}: DWARF entry of {} unreadable", impl_->path, name));
  v.type = impl_->builder.type_of(&die);
  const Type* s = strip(v.type);
  bool unsized = s->kind == TypeKind::Array && s->flexible && s->dims.size() == 1;
  if (!it->second.located || unsized) {
    // The ELF symbol has the address DWARF lacks, and the size of an array
    // DWARF only declares (`extern const char linux_banner[]`).
    impl_->read_symtab();
    auto sym = impl_->elf_objects.find(name);
    if (!it->second.located) {
      if (sym == impl_->elf_objects.end()) return std::nullopt;  // declared, defined nowhere we can see
      v.address = sym->second.value;
    }
    if (unsized && sym != impl_->elf_objects.end() && sym->second.size && s->target->size)
      v.type = impl_->builder.array_of(s->target, sym->second.size / s->target->size);
  }
  for (auto [lo, hi] : impl_->percpu) v.per_cpu = v.per_cpu || (v.address >= lo && v.address < hi);
  return v;
}

Variable DebugTypes::variable(const std::string& name) const {
  if (auto v = find_variable(name)) return *v;
  throw bad_input(fmt::format("no global variable '{}' in {}", name, impl_->path));
}

const Type* DebugTypes::find_type(const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  return impl_->complete(impl_->lookup_type(name));
}

const Type& DebugTypes::type(const std::string& name) const {
  if (auto t = find_type(name)) return *t;
  throw bad_input(fmt::format("no type '{}' in {}", name, impl_->path));
}

const Type* DebugTypes::complete(const Type* t) const {
  std::lock_guard lock(impl_->mu);
  return impl_->complete(t);
}

const Type* DebugTypes::pointer_to(const Type* t) const {
  std::lock_guard lock(impl_->mu);
  return impl_->builder.pointer_to(t);
}

const Type* DebugTypes::element_of(const Type* array) const {
  std::lock_guard lock(impl_->mu);
  return impl_->builder.element_of(array);
}

const Type* DebugTypes::long_type() const {
  std::lock_guard lock(impl_->mu);
  return impl_->builder.long_type();
}

}  // namespace xentt::sym
