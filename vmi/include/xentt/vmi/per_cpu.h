// xentt/vmi/per_cpu.h: where a Linux kernel keeps CPU N's copy of its
// per-CPU variables, for EvalContext::per_cpu_offset.
#pragma once

#include <cstdint>
#include <functional>

#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

// A resolver that reads `__per_cpu_offset[cpu]` (x86-64, arm64, and most
// SMP kernels) from guest memory through `cx`'s types, memory and slide,
// each time it is asked (8 bytes; values change only while a CPU comes up).
// Throws, when called, BadInput if the kernel has no __per_cpu_offset or
// the read fails. `cx`'s types and memory must outlive the resolver.
std::function<std::uint64_t()> kernel_per_cpu_offset(const EvalContext& cx, unsigned cpu);

}  // namespace xentt::vmi
