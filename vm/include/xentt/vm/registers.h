// xentt/vm/registers.h: the x86-64 registers of one vCPU, by name, the same
// for every engine. An engine fills what it can read (engine qemu's gdbstub
// has no idtr/gdtr; a Xen HVM context has them) and the rest reads as
// absent, never as a made-up zero.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace xentt {

enum class Reg : std::uint8_t {
  rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp,
  r8, r9, r10, r11, r12, r13, r14, r15,
  rip, rflags,
  cs, ss, ds, es, fs, gs,               // selectors
  fs_base, gs_base, kernel_gs_base,     // segment bases (MSRs in long mode)
  cr0, cr2, cr3, cr4, cr8, efer,
  idtr_base, idtr_limit, gdtr_base, gdtr_limit,
};
inline constexpr std::size_t kRegCount = static_cast<std::size_t>(Reg::gdtr_limit) + 1;

// "rax", "rflags", "kernel_gs_base", ... as gdb and our tools print them.
std::string_view reg_name(Reg r) noexcept;
// The register named `name` (also "eflags" for rflags and "k_gs_base" for
// kernel_gs_base, gdb's names); nullopt for a name we do not know.
std::optional<Reg> reg_by_name(std::string_view name) noexcept;
// Every register, in the order above.
std::span<const Reg> all_regs() noexcept;

class Registers {
 public:
  bool has(Reg r) const noexcept { return valid_ >> index(r) & 1; }
  std::optional<std::uint64_t> get(Reg r) const noexcept {
    return has(r) ? std::optional<std::uint64_t>(v_[index(r)]) : std::nullopt;
  }
  // The value of a register the engine always reads (the general registers,
  // rip, rflags). Throws Runtime naming the register when it is absent.
  std::uint64_t at(Reg r) const;
  void set(Reg r, std::uint64_t value) noexcept {
    v_[index(r)] = value;
    valid_ |= std::uint64_t{1} << index(r);
  }
  std::uint64_t rip() const { return at(Reg::rip); }
  std::uint64_t rsp() const { return at(Reg::rsp); }

  // State beyond the named registers (x87, SSE), in the engine's own
  // encoding: compared, never interpreted, so two stops at one point of a
  // replay are equal only when all of the vCPU's state is.
  std::string extended;

  bool operator==(const Registers&) const = default;

 private:
  static constexpr std::size_t index(Reg r) noexcept { return static_cast<std::size_t>(r); }
  std::array<std::uint64_t, kRegCount> v_{};
  std::uint64_t valid_ = 0;
  static_assert(kRegCount <= 64);
};

}  // namespace xentt
