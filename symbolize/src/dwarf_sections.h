// dwarf_sections.h (internal): where an ELF file's DWARF sections are.
#pragma once

#include <libelf.h>

#include "dwarf_cursor.h"

namespace xentt::sym::detail {

struct DwarfSections {
  Section info, abbrev, line, str, line_str, ranges, rnglists, addr, str_offsets;
  bool big_endian = false;
};

// Finds the sections by name (".debug_X", or the old ".zdebug_X"). Call
// after dwarf_begin_elf: libdw decompresses compressed sections in place
// (elf_compress), so their data here is the decompressed bytes. Costs one
// pass over the section headers.
DwarfSections find_dwarf_sections(Elf* elf);

}  // namespace xentt::sym::detail
