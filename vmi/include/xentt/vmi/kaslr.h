// xentt/vmi/kaslr.h: a Linux guest's KASLR slide, found from the guest
// itself: where its kernel image is mapped, against the debug file's
// link-time addresses.
#pragma once

#include <cstdint>

#include "xentt/symbolize/debug_types.h"
#include "xentt/vmi/guest_memory.h"

namespace xentt::vmi {

// The slide (runtime address - link address) of the kernel of `kernel`
// (a guest-virtual address space whose tables map the kernel image, as
// every CR3 of a running x86-64 Linux does).
//
// How: x86-64 KASLR moves the whole image within the kernel-image range
// [0xffffffff80000000, 0xffffffffc0000000) by a multiple of 2 MiB
// (CONFIG_PHYSICAL_ALIGN is at least that). `linux_banner` (.rodata,
// never patched at boot, unlike text: alternatives, static keys) starts
// with "Linux version " in every kernel, so the slide is the first
// candidate, slide 0 tried first, at which linux_banner + slide is mapped
// and reads so, as one string of the debug file's banner length (the ELF
// symbol's size: another build's banner, with another version or build
// date, is most often of another length), and init_uts_ns.name.sysname
// reads "Linux". Needs no
// register the engine may lack (IDTR, MSR LSTAR) and no byte of the debug
// file but its DWARF. Cost: at most 512 page walks and 14-byte reads
// (well under a millisecond with RAM mapped).
//
// Throws BadInput when `types` has no linux_banner (not a Linux kernel's
// debug file), or when no candidate matches ("the guest's kernel is not
// FILE's, or it is not running yet").
std::uint64_t find_kaslr_slide(const sym::DebugTypes& types, const GuestMemory& kernel);

}  // namespace xentt::vmi
