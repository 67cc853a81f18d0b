#include "dwarf_sections.h"

#include <gelf.h>

#include <string_view>

namespace xentt::sym::detail {

DwarfSections find_dwarf_sections(Elf* elf) {
  DwarfSections s;
  GElf_Ehdr eh;
  if (!gelf_getehdr(elf, &eh)) return s;
  s.big_endian = eh.e_ident[EI_DATA] == ELFDATA2MSB;
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return s;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    const char* cname;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !(cname = elf_strptr(elf, shstrndx, sh.sh_name)))
      continue;
    std::string_view n = cname;
    if (n.starts_with(".zdebug_"))
      n.remove_prefix(8);
    else if (n.starts_with(".debug_"))
      n.remove_prefix(7);
    else
      continue;
    Section* dst = n == "info"          ? &s.info
                   : n == "abbrev"      ? &s.abbrev
                   : n == "line"        ? &s.line
                   : n == "str"         ? &s.str
                   : n == "line_str"    ? &s.line_str
                   : n == "ranges"      ? &s.ranges
                   : n == "rnglists"    ? &s.rnglists
                   : n == "addr"        ? &s.addr
                   : n == "str_offsets" ? &s.str_offsets
                                        : nullptr;
    if (!dst) continue;
    // Raw bytes: DWARF sections are untyped, libelf converts nothing.
    Elf_Data* d = elf_getdata(scn, nullptr);
    if (!d || !d->d_buf) continue;
    *dst = Section{static_cast<const std::uint8_t*>(d->d_buf), d->d_size};
  }
  return s;
}

void find_sup_sections(Elf* elf, SupSections& out) {
  out.s = find_dwarf_sections(elf);
  out.s.is_sup = true;
  out.starts.clear();
  Cursor c(out.s.info, ".debug_info", 0, out.s.big_endian);
  while (!c.at_end()) {
    out.starts.push_back(c.pos());
    unsigned osz;
    std::uint64_t len = c.initial_length(osz);
    c.skip(len);
  }
}

}  // namespace xentt::sym::detail
