#include "xentt/vmi/linux_modules.h"

#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/vmi/list_walk.h"
#include "module_read.h"

namespace xentt::vmi {

namespace {

bool has_member(const EvalContext& cx, const sym::Type* t, const std::string& name) {
  try {
    cx.types.member(t, name);
    return true;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    return false;
  }
}

std::uint64_t scalar(const EvalContext& cx, std::uint64_t mod, const std::string& path) {
  return evaluate_scalar(cx, fmt::format("((struct module *){:#x})->{}", mod, path));
}

// module->name: a NUL-terminated char[MODULE_NAME_LEN].
std::string module_name(const EvalContext& cx, const sym::Type* mod_type, std::uint64_t mod) {
  sym::Member m = cx.types.member(mod_type, "name");
  std::uint64_t n = size_of(cx, m.type);
  return read_c_string(cx, fmt::format("struct module at {:#x}: its name", mod), mod + m.offset, n > 256 ? 256 : n);
}

}  // namespace

namespace detail {

ModuleShape module_shape(const EvalContext& cx) {
  auto head = cx.types.find_variable("modules");
  if (!head || !cx.types.find_type("struct module"))
    throw bad_input(fmt::format("{} has no 'modules' list: not a Linux kernel's debug file, or one without modules",
                                cx.types.path()));
  ModuleShape s;
  s.type = &cx.types.type("struct module");
  s.head = head->address + cx.bias;
  s.mem = has_member(cx, s.type, "mem");
  s.data_layout = !s.mem && has_member(cx, s.type, "data_layout");
  if (s.mem) {
    const sym::Type* arr = sym::strip(cx.types.member(s.type, "mem").type);
    s.mem_types = arr->dims.empty() ? 0 : arr->dims[0];
  }
  return s;
}

LinuxModule read_module(const EvalContext& cx, const ModuleShape& shape, std::uint64_t m) {
  LinuxModule lm;
  lm.address = m;
  lm.name = module_name(cx, shape.type, m);
  auto add_core = [&](std::uint64_t base, std::uint64_t size) {
    if (size) lm.core.emplace_back(base, base + size);
  };
  if (shape.mem) {
    for (std::uint64_t i = 0; i < shape.mem_types; ++i) {
      std::uint64_t size = scalar(cx, m, fmt::format("mem[{}].size", i));
      lm.size += size;
      // MOD_TEXT, MOD_DATA, MOD_RODATA, MOD_RO_AFTER_INIT; the MOD_INIT_* after them are freed after init.
      if (i < 4) add_core(scalar(cx, m, fmt::format("mem[{}].base", i)), size);
    }
    lm.base = scalar(cx, m, "mem[0].base");  // MOD_TEXT
  } else {
    std::uint64_t core = scalar(cx, m, "core_layout.size");
    lm.size = core + scalar(cx, m, "init_layout.size");
    lm.base = scalar(cx, m, "core_layout.base");
    add_core(lm.base, core);
    if (shape.data_layout) {
      std::uint64_t data = scalar(cx, m, "data_layout.size");
      lm.size += data;
      add_core(scalar(cx, m, "data_layout.base"), data);
    }
  }
  static const char* states[] = {"Live", "Loading", "Unloading", "Unformed"};
  std::uint64_t st = scalar(cx, m, "state");
  lm.state = st < 4 ? states[st] : fmt::format("state {}", st);
  return lm;
}

}  // namespace detail

std::vector<LinuxModule> linux_modules(const EvalContext& cx) {
  detail::ModuleShape shape = detail::module_shape(cx);
  std::vector<LinuxModule> out;
  for (std::uint64_t m : walk_list(cx, shape.head, "struct module", "list", 100000))
    out.push_back(detail::read_module(cx, shape, m));
  return out;
}

}  // namespace xentt::vmi
