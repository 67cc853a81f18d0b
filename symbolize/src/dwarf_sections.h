// dwarf_sections.h (internal): where an ELF file's DWARF sections are.
#pragma once

#include <libelf.h>

#include <cstdint>
#include <vector>

#include "dwarf_cursor.h"

namespace xentt::sym::detail {

struct SupSections;

struct DwarfSections {
  Section info, abbrev, line, str, line_str, ranges, rnglists, addr, str_offsets;
  bool big_endian = false;
  // These are a supplementary file's (dwz -m's "alt" file): references
  // inside it stay inside it.
  bool is_sup = false;
  // The supplementary file that DW_FORM_GNU_strp_alt / GNU_ref_alt (and
  // DWARF 5's strp_sup / ref_sup4/8) point into; null when the file has
  // none or it was not found (such strings read as empty, such references
  // are not followed).
  const SupSections* sup = nullptr;
};

// A supplementary file's sections and the offsets of its unit headers
// (sorted), for references into it.
struct SupSections {
  DwarfSections s;
  std::vector<std::uint64_t> starts;
};

// Finds the sections by name (".debug_X", or the old ".zdebug_X"). Call
// after dwarf_begin_elf: libdw decompresses compressed sections in place
// (elf_compress), so their data here is the decompressed bytes. Costs one
// pass over the section headers.
DwarfSections find_dwarf_sections(Elf* elf);

// The same for a supplementary file, with its unit header offsets (a walk
// of the unit lengths). Throws Corrupt on a malformed unit length.
void find_sup_sections(Elf* elf, SupSections& out);

}  // namespace xentt::sym::detail
