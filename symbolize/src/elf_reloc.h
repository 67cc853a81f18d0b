// elf_reloc.h (internal): a relocatable ELF file (ET_REL: a Linux kernel
// module's .ko) placed at section addresses: where each section is, and
// its DWARF relocated to match.
//
// A .ko's symbols are section-relative (st_value within st_shndx), and its
// DWARF is unfinished until its RELA relocations are applied: every
// DW_FORM_strp, DW_AT_stmt_list and unit offset points at 0 until the
// relocation against .debug_str's (.debug_line's...) section symbol adds
// its addend, and every code address is the section's load address plus
// the addend. libdw leaves that to libdwfl; we do it ourselves, in place.
#pragma once

#include <libelf.h>

#include <cstdint>
#include <string>
#include <vector>

#include "xentt/symbolize/symbol_file.h"

namespace xentt::sym::detail {

// Per section index: its address and whether it is in memory.
struct SectionPlacement {
  bool relocatable = false;        // an ET_REL file; nothing below is set otherwise
  std::vector<std::uint64_t> addr;  // by section index
  std::vector<char> placed;        // loaded: its symbols count
};

// Where the sections of `elf` are. For an ET_REL file: an SHF_ALLOC
// section named in `sections` at its address (every section of that name,
// should the file have two), one not named is not placed (address 0), a
// section that is not allocated (debug sections) at 0; with `sections`
// empty every section is at 0 and placed. Costs one pass over the section
// headers.
SectionPlacement place_sections(Elf* elf, const SectionAddresses& sections);

// Applies the .rela.debug_* sections of `elf` (an x86-64 ET_REL file) to
// the data of the debug sections they patch, in place: call after their
// decompression, on an image private to this process (our mappings are
// MAP_PRIVATE). Types R_X86_64_64, _32, _32S, _PC32, _PC64, _DTPOFF32/64,
// _NONE. A relocation we cannot apply (another type or machine, an offset
// past its section, a bad symbol index) is skipped: the returned warning
// (empty when there is none) names the file, the section, the offset and
// the type of the first one and counts them; only the DWARF spot it patches
// stays unrelocated, where refusing would lose the whole module's names.
// Cost: one pass over the relocations (~80k for virtio_net.ko, ~1 ms).
std::string relocate_debug_sections(Elf* elf, const std::string& path, const SectionPlacement& p);

}  // namespace xentt::sym::detail
