// xentt/vmi/register_view.h: a vCPU's registers as `tt_vmi regs` prints
// them: one line each, name, hex value and what the value means (flags by
// name for rflags, cr0, cr4 and efer; decimal for the rest), as gdb's
// `info registers` does; and as JSON (hex strings: 64-bit values do not fit
// JSON readers' doubles). Registers the engine could not read are left out.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "xentt/vm/registers.h"

namespace xentt::vmi {

// The names of the bits set in `value` of register `r` ("IF ZF" for
// rflags, "PE PG WP" for cr0, ...); empty for registers without flags.
std::string flag_names(Reg r, std::uint64_t value);

std::string registers_text(const Registers& regs);
nlohmann::json registers_json(const Registers& regs);

}  // namespace xentt::vmi
