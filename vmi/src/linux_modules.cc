#include "xentt/vmi/linux_modules.h"

#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/vmi/list_walk.h"

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
  return read_scalar(cx, evaluate(cx, fmt::format("((struct module *){:#x})->{}", mod, path)));
}

// module->name: a NUL-terminated char[MODULE_NAME_LEN].
std::string module_name(const EvalContext& cx, const sym::Type* mod_type, std::uint64_t mod) {
  sym::Member m = cx.types.member(mod_type, "name");
  std::uint64_t n = size_of(cx, m.type);
  return read_c_string(cx, fmt::format("struct module at {:#x}: its name", mod), mod + m.offset, n > 256 ? 256 : n);
}

}  // namespace

std::vector<LinuxModule> linux_modules(const EvalContext& cx) {
  auto head = cx.types.find_variable("modules");
  if (!head || !cx.types.find_type("struct module"))
    throw bad_input(fmt::format("{} has no 'modules' list: not a Linux kernel's debug file, or one without modules",
                                cx.types.path()));
  const sym::Type* mod_type = &cx.types.type("struct module");
  bool mem = has_member(cx, mod_type, "mem");  // 6.4+: struct module_memory mem[MOD_MEM_NUM_TYPES]
  bool data_layout = !mem && has_member(cx, mod_type, "data_layout");
  std::uint64_t mem_types = 0;
  if (mem) {
    const sym::Type* arr = sym::strip(cx.types.member(mod_type, "mem").type);
    mem_types = arr->dims.empty() ? 0 : arr->dims[0];
  }
  std::vector<LinuxModule> out;
  for (std::uint64_t m : walk_list(cx, head->address + cx.bias, "struct module", "list", 100000)) {
    LinuxModule lm;
    lm.address = m;
    lm.name = module_name(cx, mod_type, m);
    if (mem) {
      for (std::uint64_t i = 0; i < mem_types; ++i) lm.size += scalar(cx, m, fmt::format("mem[{}].size", i));
      lm.base = scalar(cx, m, "mem[0].base");  // MOD_TEXT
    } else {
      lm.size = scalar(cx, m, "core_layout.size") + scalar(cx, m, "init_layout.size");
      if (data_layout) lm.size += scalar(cx, m, "data_layout.size");
      lm.base = scalar(cx, m, "core_layout.base");
    }
    static const char* states[] = {"Live", "Loading", "Unloading", "Unformed"};
    std::uint64_t st = scalar(cx, m, "state");
    lm.state = st < 4 ? states[st] : fmt::format("state {}", st);
    out.push_back(std::move(lm));
  }
  return out;
}

}  // namespace xentt::vmi
