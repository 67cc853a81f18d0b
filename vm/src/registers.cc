#include "xentt/vm/registers.h"

#include "xentt/base/error.h"

namespace xentt {

namespace {
constexpr std::array<std::string_view, kRegCount> kNames = {
    "rax",     "rbx",     "rcx",     "rdx",     "rsi",     "rdi",       "rbp",       "rsp",
    "r8",      "r9",      "r10",     "r11",     "r12",     "r13",       "r14",       "r15",
    "rip",     "rflags",  "cs",      "ss",      "ds",      "es",        "fs",        "gs",
    "fs_base", "gs_base", "kernel_gs_base",     "cr0",     "cr2",       "cr3",       "cr4",
    "cr8",     "efer",    "idtr_base",          "idtr_limit",           "gdtr_base", "gdtr_limit",
};

constexpr std::array<Reg, kRegCount> make_all() {
  std::array<Reg, kRegCount> a{};
  for (std::size_t i = 0; i < kRegCount; i++) a[i] = static_cast<Reg>(i);
  return a;
}
constexpr std::array<Reg, kRegCount> kAll = make_all();
}  // namespace

std::string_view reg_name(Reg r) noexcept { return kNames[static_cast<std::size_t>(r)]; }

std::optional<Reg> reg_by_name(std::string_view name) noexcept {
  if (name == "eflags") return Reg::rflags;
  if (name == "k_gs_base") return Reg::kernel_gs_base;
  for (std::size_t i = 0; i < kRegCount; i++)
    if (kNames[i] == name) return static_cast<Reg>(i);
  return std::nullopt;
}

std::span<const Reg> all_regs() noexcept { return kAll; }

std::uint64_t Registers::at(Reg r) const {
  if (!has(r)) throw runtime_error("register " + std::string(reg_name(r)) + " was not read from the target");
  return v_[index(r)];
}

}  // namespace xentt
