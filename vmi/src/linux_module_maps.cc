#include "xentt/vmi/linux_module_maps.h"

#include <fmt/format.h>

#include <cstring>
#include <optional>

#include "module_read.h"
#include "xentt/base/error.h"
#include "xentt/symbolize/symbolizer.h"
#include "xentt/vmi/list_walk.h"

namespace xentt::vmi {

namespace {

std::uint64_t le64(const std::byte* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // x86 guests: little-endian, as this host
}

std::uint32_t le32(const std::byte* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Where 6.1's `struct module_sect_attrs { grp; unsigned int nsections;
// struct module_sect_attr attrs[]; }` keeps things, from the DWARF; unset
// when the kernel has another layout (or none).
struct SectAttrsLayout {
  std::uint64_t sect_attrs = 0;  // offsetof(struct module, sect_attrs)
  std::uint64_t nsections = 0, attrs = 0;
  std::uint64_t attr_size = 0, name = 0, address = 0;  // in struct module_sect_attr
};

std::optional<SectAttrsLayout> sect_attrs_layout(const EvalContext& cx, const sym::Type* mod_type, std::string& why) {
  try {
    SectAttrsLayout l;
    l.sect_attrs = cx.types.member(mod_type, "sect_attrs").offset;
    const sym::Type* sa = &cx.types.type("struct module_sect_attrs");
    l.nsections = cx.types.member(sa, "nsections").offset;
    l.attrs = cx.types.member(sa, "attrs").offset;
    const sym::Type* a = &cx.types.type("struct module_sect_attr");
    l.attr_size = size_of(cx, a);
    sym::Member battr = cx.types.member(a, "battr");
    sym::Member attr = cx.types.member(battr.type, "attr");
    l.name = battr.offset + attr.offset + cx.types.member(attr.type, "name").offset;
    l.address = cx.types.member(a, "address").offset;
    if (l.attr_size < 16 || l.name + 8 > l.attr_size || l.address + 8 > l.attr_size)
      throw bad_input(fmt::format("struct module_sect_attr of {} bytes", l.attr_size));
    return l;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    why = e.what();
    return std::nullopt;
  }
}

sym::SectionAddresses read_sections(const EvalContext& cx, const SectAttrsLayout& l, const LinuxModule& m,
                                    const std::function<void(const std::string&)>& warn) {
  std::string who = fmt::format("module {} (struct module at {:#x})", m.name, m.address);
  std::byte b8[8];
  read_for(cx, who + ": its sect_attrs", m.address + l.sect_attrs, b8);
  std::uint64_t sa = le64(b8);
  if (sa == 0) throw bad_input(who + ": sect_attrs is NULL (not in sysfs yet, or gone)");
  read_for(cx, fmt::format("{}: sect_attrs->nsections at {:#x}", who, sa + l.nsections), sa + l.nsections,
           std::span(b8, 4));
  std::uint32_t n = le32(b8);
  if (n > kMaxModuleSections)
    throw bad_input(fmt::format("{}: sect_attrs->nsections is {} (more than {}: garbage)", who, n, kMaxModuleSections));
  std::vector<std::byte> table(std::size_t{n} * l.attr_size);
  read_for(cx, fmt::format("{}: its {} section attributes at {:#x}", who, n, sa + l.attrs), sa + l.attrs, table);
  sym::SectionAddresses out;
  std::size_t bad_names = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::byte* e = table.data() + std::size_t{i} * l.attr_size;
    std::uint64_t name_at = le64(e + l.name);
    std::string name;
    try {
      name = read_c_string(cx, fmt::format("{}: section {}'s name", who, i), name_at, 64);
    } catch (const Error& err) {
      if (err.kind() != ErrorKind::BadInput) throw;
    }
    // A name the symbol-map syntax cannot carry is no module section's.
    if (!sym::valid_section_name(name)) {
      ++bad_names;
      continue;
    }
    out.emplace_back(std::move(name), le64(e + l.address));
  }
  if (bad_names)
    warn(fmt::format("{}: {} of its {} section names unreadable or not section names: those sections are left out",
                     who, bad_names, n));
  return out;
}

// The GNU build-id note at `at`: namesz 4, descsz, type 3 (NT_GNU_BUILD_ID), "GNU\0", desc.
std::string read_build_id(const EvalContext& cx, std::uint64_t at, const LinuxModule& m) {
  std::string who = fmt::format("module {}: its .note.gnu.build-id at {:#x}", m.name, at);
  std::byte h[16];
  read_for(cx, who, at, h);
  std::uint32_t namesz = le32(h), descsz = le32(h + 4), type = le32(h + 8);
  if (namesz != 4 || type != 3 || std::memcmp(h + 12, "GNU", 4) != 0 || descsz == 0 || descsz > 64)
    throw bad_input(fmt::format("{}: not a GNU build-id note (namesz {}, descsz {}, type {})", who, namesz, descsz, type));
  std::string id(descsz, '\0');
  read_for(cx, who, at + 16, std::as_writable_bytes(std::span(id)));
  return id;
}

}  // namespace

std::vector<ModuleSymbols> linux_module_symbols(const EvalContext& cx,
                                                const std::function<void(const std::string&)>& warn) {
  detail::ModuleShape shape = detail::module_shape(cx);
  std::string why;
  std::optional<SectAttrsLayout> layout = sect_attrs_layout(cx, shape.type, why);
  if (!layout)
    warn(fmt::format("{}: no struct module_sect_attrs with nsections and attrs[] as in 6.1 ({}): module section "
                     "addresses are not read, modules are not symbolized",
                     cx.types.path(), why));
  std::string broken;
  std::vector<std::uint64_t> mods = walk_list(cx, shape.head, "struct module", "list", 100000, &broken);
  if (!broken.empty())
    warn(fmt::format("the module list is broken after {} modules ({}): only those are symbolized", mods.size(), broken));
  std::vector<ModuleSymbols> out;
  for (std::uint64_t a : mods) {
    ModuleSymbols ms;
    try {
      ms.module = detail::read_module(cx, shape, a);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::BadInput) throw;
      warn(fmt::format("the struct module at {:#x} cannot be read ({}): left out", a, e.what()));
      continue;
    }
    if (layout) {
      try {
        ms.sections = read_sections(cx, *layout, ms.module, warn);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::BadInput) throw;
        warn(std::string(e.what()) + ": its section addresses are not known, its code is not named");
      }
    }
    for (const auto& [name, addr] : ms.sections) {
      if (name != ".note.gnu.build-id") continue;
      try {
        ms.build_id = read_build_id(cx, addr, ms.module);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::BadInput) throw;
        warn(std::string(e.what()) + ": no build-id to find its debug file by");
      }
      break;
    }
    out.push_back(std::move(ms));
  }
  return out;
}

}  // namespace xentt::vmi
