#include "xentt/vmi/inspector.h"

#include <fmt/format.h>

#include <map>

#include "xentt/base/error.h"
#include "xentt/base/number.h"
#include "xentt/vmi/kaslr.h"
#include "xentt/vmi/linux_module_maps.h"
#include "xentt/vmi/per_cpu.h"
#include "xentt/vmi/target_physical.h"
#include "xentt/vmi/typed_value.h"
#include "xentt/vmi/value_printer.h"

namespace xentt::vmi {

struct Inspector::Impl {
  Target& target;
  InspectorOptions opts;
  std::map<unsigned, Registers> regs;
  std::unique_ptr<GuestMemory> phys;
  std::unique_ptr<GuestMemory> ram;  // only where it is not `phys` (Target::ram_is_physical)
  std::unique_ptr<AddressSpace> kernel;
  std::shared_ptr<sym::DebugTypes> types;
  std::unique_ptr<sym::Symbolizer> symbols;

  std::optional<std::uint64_t> slide;  // kaslr_slide(), once known
  std::string files() const {
    std::string f;
    for (const auto& m : opts.maps) f += (f.empty() ? "" : ", ") + m.path;
    if (opts.debug_file) f += (f.empty() ? "" : ", ") + *opts.debug_file;
    return f.empty() ? "no symbol files" : f;
  }
};

Inspector::Inspector(Target& target, InspectorOptions opts) : impl_(new Impl{target, std::move(opts), {}, {}, {}, {}, {}, {}, {}}) {}
Inspector::~Inspector() = default;

Target& Inspector::target() { return impl_->target; }

const Registers& Inspector::registers(unsigned vcpu) {
  auto it = impl_->regs.find(vcpu);
  if (it == impl_->regs.end()) it = impl_->regs.emplace(vcpu, impl_->target.registers(vcpu)).first;
  return it->second;
}

const GuestMemory& Inspector::physical() {
  if (!impl_->phys) impl_->phys = physical_memory_of(impl_->target);
  return *impl_->phys;
}

const GuestMemory& Inspector::ram() {
  if (impl_->target.ram_is_physical()) return physical();
  if (!impl_->ram) impl_->ram = std::make_unique<TargetRam>(impl_->target);
  return *impl_->ram;
}

const AddressSpace& Inspector::kernel_space() {
  if (!impl_->kernel) impl_->kernel = std::make_unique<AddressSpace>(physical(), registers(0));
  return *impl_->kernel;
}

std::shared_ptr<sym::DebugTypes> Inspector::shared_types() {
  types();
  return impl_->types;
}

const sym::DebugTypes& Inspector::types() {
  if (!impl_->types) impl_->types = impl_->opts.types;
  if (impl_->types) return *impl_->types;
  if (impl_->opts.debug_file) {
    impl_->types = sym::DebugTypes::open(*impl_->opts.debug_file);
    return *impl_->types;
  }
  // The first symbol file that has DWARF: a vmlinux or a -g program; a
  // System.map or a stripped image has none.
  std::string why;
  for (const auto& m : impl_->opts.maps) {
    try {
      impl_->types = sym::DebugTypes::open(m.path);
      return *impl_->types;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::BadInput) throw;
      why = e.what();
    }
  }
  throw bad_input(impl_->opts.maps.empty()
                      ? std::string("the VM has no symbol files with DWARF: give the kernel's with --vmlinux FILE")
                      : "no DWARF in the VM's symbol files (" + why + "): give the kernel's with --vmlinux FILE");
}

std::uint64_t Inspector::address_of(const std::string& text) {
  if (looks_numeric(text)) return parse_u64(text, "address");
  if (impl_->opts.debug_file) {
    if (auto v = types().find_variable(text); v && !v->per_cpu) return v->address + kaslr_slide();
  }
  if (!impl_->symbols && !impl_->opts.maps.empty())
    impl_->symbols = std::make_unique<sym::Symbolizer>(impl_->opts.maps, [](const std::string&) {}, /*strict=*/true);
  if (impl_->symbols)
    if (auto r = impl_->symbols->find_symbol(text)) return r->lo + kaslr_slide();
  throw bad_input(fmt::format("symbol '{}' not found in {}", text, impl_->files()));
}

std::string Inspector::read_physical(std::uint64_t paddr, std::size_t len) { return physical().read_bytes(paddr, len); }

std::string Inspector::read_virtual(std::uint64_t vaddr, std::size_t len, std::optional<std::uint64_t> cr3) {
  if (!cr3) return kernel_space().read_bytes(vaddr, len);
  Paging p = paging_of(registers(0));
  p.cr3 = *cr3;
  return AddressSpace(physical(), p).read_bytes(vaddr, len);
}

Translation Inspector::translate(std::uint64_t vaddr, std::optional<std::uint64_t> cr3) {
  Translation t;
  t.vaddr = vaddr;
  t.paging = paging_of(registers(0));
  if (cr3) t.paging.cr3 = *cr3;
  WalkFault f;
  t.mapping = walk(physical(), t.paging, vaddr, &f);
  if (!t.mapping) t.fault = f;
  return t;
}

std::uint64_t Inspector::kaslr_slide() {
  if (impl_->slide) return *impl_->slide;
  if (impl_->opts.kaslr_offset) return *(impl_->slide = static_cast<std::uint64_t>(*impl_->opts.kaslr_offset));
  const sym::DebugTypes* t = nullptr;
  try {
    t = &types();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;  // no DWARF: symbols as linked
  }
  std::uint64_t s = t && t->find_variable("init_task") ? find_kaslr_slide(*t, kernel_space()) : 0;
  return *(impl_->slide = s);
}

std::vector<sym::SymbolMapSpec> Inspector::relocated_maps(const std::function<void(const std::string&)>& warn) {
  std::vector<sym::SymbolMapSpec> maps = impl_->opts.maps;
  std::uint64_t slide = kaslr_slide();
  if (slide) {
    const std::string& kernel = types().path();
    for (auto& m : maps) {
      if (m.path != kernel) continue;
      m.bias += slide;
      if (m.lo != 0 || m.hi != ~0ull) {  // a bounded map: its range moves too
        m.lo += slide;
        if (m.hi != ~0ull) m.hi += slide;
      }
    }
  }
  // The modules first: the first map containing an address wins, and the
  // kernel's map often covers the whole space.
  std::vector<sym::SymbolMapSpec> all = module_maps(warn);
  all.insert(all.end(), maps.begin(), maps.end());
  return all;
}

std::vector<sym::SymbolMapSpec> Inspector::module_maps(const std::function<void(const std::string&)>& warn) {
  auto say = [&](const std::string& m) {
    if (warn) warn(m);
  };
  std::vector<sym::SymbolMapSpec> maps;
  const sym::DebugTypes* t = nullptr;
  try {
    t = &types();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    return maps;  // no kernel DWARF: no module list to read
  }
  if (!t->find_variable("modules") || !t->find_type("struct module")) return maps;
  std::vector<ModuleSymbols> mods;
  try {
    mods = linux_module_symbols(kernel_context(), say);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    say(std::string("the guest's modules cannot be read (") + e.what() + "): module addresses stay unnamed");
    return maps;
  }
  sym::DebugFileFinder finder(impl_->opts.debug, say);
  for (const ModuleSymbols& m : mods) {
    if (m.sections.empty()) continue;  // said by linux_module_symbols
    if (!sym::valid_section_name(m.module.name)) {  // a prefix must not carry ':' or '/'
      say(fmt::format("the module at {:#x} has no name a symbol map can carry ('{}'): left out", m.module.address,
                      m.module.name));
      continue;
    }
    std::string missing;
    std::optional<std::string> file = finder.find_module_file(m.module.name, m.build_id, missing);
    if (!file) {
      finder.warn_once(missing);
      continue;
    }
    for (const auto& [lo, hi] : m.module.core) {
      sym::SymbolMapSpec s;
      s.path = *file;
      s.lo = lo;
      s.hi = hi;
      s.sections = m.sections;
      s.prefix = m.module.name + ":";
      maps.push_back(std::move(s));
    }
  }
  return maps;
}

EvalContext Inspector::kernel_context() {
  const sym::DebugTypes& t = types();
  EvalContext cx(t, kernel_space(), kaslr_slide());
  cx.per_cpu_offset = kernel_per_cpu_offset(cx, 0);
  return cx;
}

std::string Inspector::print(const std::string& expr) {
  EvalContext cx = kernel_context();
  return format_value(cx, evaluate(cx, expr));
}

nlohmann::json Inspector::print_json(const std::string& expr) {
  EvalContext cx = kernel_context();
  return value_json(cx, evaluate(cx, expr));
}

std::string Translation::to_text() const {
  std::string out = fmt::format("{:#x}", vaddr);
  if (!mapping) return out + ": " + fault->describe(paging.mode) + "\n";
  const PageMapping& m = *mapping;
  out += fmt::format(" -> guest-physical {:#x}\n", m.paddr);
  std::string size = m.page_size >= (1ull << 30)   ? fmt::format("{} GiB", m.page_size >> 30)
                     : m.page_size >= (1ull << 20) ? fmt::format("{} MiB", m.page_size >> 20)
                                                   : fmt::format("{} KiB", m.page_size >> 10);
  out += fmt::format("  {} page at {:#x} -> {:#x}, {} paging, cr3 {:#x}\n", size, m.page_vaddr(), m.page_paddr(),
                     paging_mode_name(paging.mode), paging.cr3);
  out += fmt::format("  {}{}{}{}\n", m.writable ? "writable" : "read-only", m.user ? ", user" : ", supervisor",
                     m.nx ? ", no-execute" : ", executable", m.global ? ", global" : "");
  for (const auto& [level, entry] : m.entries) out += fmt::format("  {:<6} {:#018x}\n", entry_name(level), entry);
  return out;
}

nlohmann::json Translation::to_json() const {
  nlohmann::json j = {{"vaddr", fmt::format("{:#x}", vaddr)},
                      {"paging", paging_mode_name(paging.mode)},
                      {"cr3", fmt::format("{:#x}", paging.cr3)}};
  if (!mapping) {
    j["mapped"] = false;
    j["fault"] = fault->describe(paging.mode);
    return j;
  }
  const PageMapping& m = *mapping;
  j["mapped"] = true;
  j["paddr"] = fmt::format("{:#x}", m.paddr);
  j["page_size"] = m.page_size;
  j["writable"] = m.writable;
  j["user"] = m.user;
  j["nx"] = m.nx;
  j["global"] = m.global;
  nlohmann::json e = nlohmann::json::array();
  for (const auto& [level, entry] : m.entries)
    e.push_back({{"level", level}, {"name", entry_name(level)}, {"entry", fmt::format("{:#x}", entry)}});
  j["entries"] = e;
  return j;
}

}  // namespace xentt::vmi
