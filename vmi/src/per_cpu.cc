#include "xentt/vmi/per_cpu.h"

#include <fmt/format.h>

namespace xentt::vmi {

std::function<std::uint64_t()> kernel_per_cpu_offset(const EvalContext& cx, unsigned cpu) {
  const sym::DebugTypes* types = &cx.types;
  const GuestMemory* memory = &cx.memory;
  std::uint64_t bias = cx.bias;
  return [types, memory, bias, cpu] {
    EvalContext plain(*types, *memory, bias);  // __per_cpu_offset itself is not per-CPU
    return read_scalar(plain, evaluate(plain, fmt::format("__per_cpu_offset[{}]", cpu)));
  };
}

}  // namespace xentt::vmi
