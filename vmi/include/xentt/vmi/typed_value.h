// xentt/vmi/typed_value.h: C expressions over a guest's memory, typed by
// the DWARF of its kernel or program: what `tt_vmi print EXPR` evaluates.
//
//   auto types = sym::DebugTypes::open("/usr/lib/debug/boot/vmlinux-6.1.0-...");
//   vmi::EvalContext cx{*types, address_space, kaslr_slide};
//   vmi::Value v = vmi::evaluate(cx, "init_task.tasks.next");
//   std::cout << vmi::format_value(cx, v);   // (struct list_head *) 0xffff...
//
// Grammar (C's, a subset): `name`, `E.field`, `E->field`, `E[index]`,
// `*E`, `&E`, `-E`, `E + E`, `E - E` (with C's pointer arithmetic),
// `(E)`, integer literals (decimal, 0x hex), and casts `(struct NAME *)E`,
// `(TYPE)E` of integers and pointers.
// Evaluation is lazy: a Value names where its bytes are; only `->`, `*`
// and `[]` on pointers read (the pointer), and printing reads the object.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xentt/symbolize/debug_types.h"
#include "xentt/vmi/guest_memory.h"

namespace xentt::vmi {

// What expressions are evaluated against.
struct EvalContext {
  EvalContext(const sym::DebugTypes& t, const GuestMemory& m, std::uint64_t slide = 0,
              std::function<std::uint64_t()> per_cpu = {})
      : types(t), memory(m), bias(slide), per_cpu_offset(std::move(per_cpu)) {}

  const sym::DebugTypes& types;
  const GuestMemory& memory;  // guest-virtual addresses
  // Added to every link-time address (the KASLR slide); 0 for an
  // unrandomized kernel or a program loaded where it was linked.
  std::uint64_t bias = 0;
  // The chosen CPU's __per_cpu_offset[cpu]: per-CPU variables (in
  // .data..percpu) are at their offset plus this. Unset: naming one is
  // refused with a message that asks for a CPU.
  std::function<std::uint64_t()> per_cpu_offset;
};

// A typed object in guest memory, or an immediate (a literal, `&E`, a cast).
struct Value {
  const sym::Type* type = nullptr;
  std::optional<std::uint64_t> address;  // where its bytes are (an lvalue)
  std::uint64_t immediate = 0;           // the value when there is no address
  std::uint32_t bit_offset = 0;          // a bitfield: bits at `address`
  std::uint32_t bit_size = 0;            // 0: not a bitfield
  std::string expr;                      // the expression it came from, for messages
};

// Evaluates `expr`. Throws BadInput for a syntax error (with the column),
// an unknown variable, type or field, an operator on the wrong type, and a
// guest read that fails; the message names the part of the expression that
// was read ("init_task.mm->pgd: guest-virtual address 0x0: not mapped").
// Costs the reads of the pointers it follows (8 bytes each).
Value evaluate(const EvalContext& cx, std::string_view expr);

// The size in bytes of `t` (declarations completed, typedefs seen through).
std::uint64_t size_of(const EvalContext& cx, const sym::Type* t);

// The bits of an integer, enum, bool, char or pointer Value (sign-extended
// for a signed type, a bitfield extracted), reading guest memory if it has
// an address. Throws BadInput for other types and failed reads.
std::uint64_t read_scalar(const EvalContext& cx, const Value& v);
// read_scalar(cx, evaluate(cx, expr)): the thing most callers want.
std::uint64_t evaluate_scalar(const EvalContext& cx, std::string_view expr);

// Reads `out.size()` bytes at `addr`; a failure is rethrown as BadInput
// "WHAT: <the memory's message>", so users see which expression failed.
void read_for(const EvalContext& cx, const std::string& what, std::uint64_t addr, std::span<std::byte> out);
// The little-endian u64 at `addr` (a pointer or a long the caller has the
// offset of); read_for's message on a failed read.
std::uint64_t read_u64_for(const EvalContext& cx, const std::string& what, std::uint64_t addr);
// The C string in the `size` bytes at `addr` (a char array of the guest:
// comm, a module's name, a release), up to its first NUL or all of it;
// read_for's message on a failed read. Cost: one read of `size` bytes.
std::string read_c_string(const EvalContext& cx, const std::string& what, std::uint64_t addr, std::size_t size);

}  // namespace xentt::vmi
