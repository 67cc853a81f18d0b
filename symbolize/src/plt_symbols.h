// plt_symbols.h (internal): names for the entries of an ELF file's
// procedure linkage table, which no symbol table covers: "free@plt" for
// a call through the PLT to free, "*ABS*+0xa0bd0@plt" for one to an
// IRELATIVE (ifunc) target, as objdump and gdb name them (BFD's
// synthetic symbols). Traces of user space pass through them on every
// call between libraries.
#pragma once

#include <libelf.h>

#include "symtab.h"

namespace xentt::sym::detail {

// Adds a sized symbol for each entry of .plt, .plt.sec and .plt.got
// whose indirect jump (jmp *disp32(%rip), with or without a bnd prefix)
// goes through a GOT slot that a JUMP_SLOT, GLOB_DAT or IRELATIVE
// relocation fills, and ".plt" for the lazy PLT's first entry (the jump
// to the dynamic linker's resolver, as objdump labels it). x86-64 only; a file whose PLT bytes are not in it (a
// separate debug file) gets none. Cost: one pass over the PLT sections
// and the dynamic relocations (~0.1 ms for libc).
void add_plt_symbols(Symtab& st, Elf* elf);

}  // namespace xentt::sym::detail
