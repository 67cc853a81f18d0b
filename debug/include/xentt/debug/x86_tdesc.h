// xentt/debug/x86_tdesc.h: the x86-64 target description our gdb server
// offers (qXfer:features:read:target.xml) and the 'g'/'p' encoding of
// Registers that matches it.
//
// The register order is QEMU's (its i386-64bit.xml, read off QEMU 10.0.2's
// gdbstub): the named registers of Registers, then the x87 and SSE state
// that engine qemu keeps as Registers::extended in that same encoding,
// then the descriptor tables (idtr/gdtr) that engine xen reads. Unlike
// QEMU's one feature, they come as gdb's own features (core, sse,
// segments) and one of ours (org.xentt.x86.system: k_gs_base, control
// registers, efer, descriptor tables), so gdb's `info registers` lists the
// control registers and segment bases. A register an engine cannot read is
// sent as 'x' digits: gdb shows <unavailable>, never a made-up zero.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "xentt/vm/registers.h"

namespace xentt::debug {

// The XML annex `annex` ("target.xml"), or nothing for another name.
std::optional<std::string_view> x86_64_target_xml(std::string_view annex);

// The 'g' reply: every register of the description, in its order, as hex.
std::string encode_g_packet(const Registers& regs);

// The 'p' reply for gdb register number `regnum`, or nothing past the last.
std::optional<std::string> encode_register(const Registers& regs, std::size_t regnum);

// How many registers the description has.
std::size_t x86_64_register_count();

}  // namespace xentt::debug
