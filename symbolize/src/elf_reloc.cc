#include "elf_reloc.h"

#include <gelf.h>
#include <fmt/format.h>

#include <cstring>
#include <string_view>
#include <unordered_map>

namespace xentt::sym::detail {

SectionPlacement place_sections(Elf* elf, const SectionAddresses& sections) {
  SectionPlacement p;
  GElf_Ehdr eh;
  size_t shnum = 0, shstrndx = 0;
  if (!gelf_getehdr(elf, &eh) || eh.e_type != ET_REL || elf_getshdrnum(elf, &shnum) != 0) return p;
  p.relocatable = true;
  p.addr.assign(shnum, 0);
  p.placed.assign(shnum, sections.empty() ? 1 : 0);
  if (sections.empty() || elf_getshdrstrndx(elf, &shstrndx) != 0) return p;
  std::unordered_map<std::string_view, std::uint64_t> by_name;
  for (const auto& [name, a] : sections) by_name.emplace(name, a);
  for (size_t i = 1; i < shnum; ++i) {
    GElf_Shdr sh;
    Elf_Scn* scn = elf_getscn(elf, i);
    if (!scn || !gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC)) continue;
    const char* n = elf_strptr(elf, shstrndx, sh.sh_name);
    if (!n) continue;
    if (auto it = by_name.find(n); it != by_name.end()) {
      p.addr[i] = it->second;
      p.placed[i] = 1;
    }
  }
  return p;
}

namespace {

// Writes `v`'s low `n` bytes little-endian (x86-64 is).
void put_le(std::uint8_t* at, std::uint64_t v, unsigned n) {
  for (unsigned i = 0; i < n; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

std::string relocate_debug_sections(Elf* elf, const std::string& path, const SectionPlacement& p) {
  GElf_Ehdr eh;
  size_t shstrndx = 0;
  if (!p.relocatable || !gelf_getehdr(elf, &eh) || elf_getshdrstrndx(elf, &shstrndx) != 0) return {};
  std::string first;
  std::size_t skipped = 0;
  auto skip = [&](const char* sec, std::uint64_t off, const std::string& why) {
    if (skipped++ == 0) first = fmt::format("{}: section {} offset {:#x}: {}", path, sec, off, why);
  };
  for (Elf_Scn* rscn = nullptr; (rscn = elf_nextscn(elf, rscn));) {
    GElf_Shdr rsh;
    if (!gelf_getshdr(rscn, &rsh) || (rsh.sh_type != SHT_RELA && rsh.sh_type != SHT_REL)) continue;
    Elf_Scn* tscn = elf_getscn(elf, rsh.sh_info);
    GElf_Shdr tsh;
    const char* tname = tscn && gelf_getshdr(tscn, &tsh) ? elf_strptr(elf, shstrndx, tsh.sh_name) : nullptr;
    if (!tname || !std::string_view(tname).starts_with(".debug_") || tsh.sh_type == SHT_NOBITS) continue;
    Elf_Data* rd = elf_getdata(rscn, nullptr);
    Elf_Data* td = elf_getdata(tscn, nullptr);
    std::size_t n = rsh.sh_entsize ? rsh.sh_size / rsh.sh_entsize : 0;
    if (!rd || !td || !td->d_buf || n == 0) continue;
    if (eh.e_machine != EM_X86_64 || rsh.sh_type != SHT_RELA) {
      skip(tname, 0, fmt::format("{} relocations for machine {} are not supported ({} left unapplied)",
                                 rsh.sh_type == SHT_RELA ? "RELA" : "REL", eh.e_machine, n));
      skipped += n - 1;
      continue;
    }
    // The symbols' values, placed (a relocation's S); an index past the
    // table is caught below.
    std::vector<std::uint64_t> value;
    if (Elf_Scn* sscn = elf_getscn(elf, rsh.sh_link)) {
      GElf_Shdr ssh;
      Elf_Data* sd = elf_getdata(sscn, nullptr);
      if (sd && gelf_getshdr(sscn, &ssh) && ssh.sh_entsize) {
        std::size_t ns = sd->d_size / ssh.sh_entsize;
        value.resize(ns);
        for (std::size_t i = 0; i < ns; ++i) {
          GElf_Sym s;
          if (!gelf_getsym(sd, static_cast<int>(i), &s)) break;
          std::uint64_t base = s.st_shndx != SHN_UNDEF && s.st_shndx < p.addr.size() ? p.addr[s.st_shndx] : 0;
          value[i] = s.st_shndx == SHN_ABS ? s.st_value : base + s.st_value;
        }
      }
    }
    auto* data = static_cast<std::uint8_t*>(td->d_buf);
    const std::uint64_t size = td->d_size;
    for (std::size_t i = 0; i < n; ++i) {
      GElf_Rela r;
      if (!gelf_getrela(rd, static_cast<int>(i), &r)) break;
      unsigned type = GELF_R_TYPE(r.r_info);
      std::uint64_t sym = GELF_R_SYM(r.r_info);
      unsigned width = 0;
      bool pc = false;
      switch (type) {
        case R_X86_64_NONE: continue;
        case R_X86_64_64: case R_X86_64_DTPOFF64: width = 8; break;
        case R_X86_64_32: case R_X86_64_32S: case R_X86_64_DTPOFF32: width = 4; break;
        case R_X86_64_PC32: width = 4; pc = true; break;
        case R_X86_64_PC64: width = 8; pc = true; break;
        default:
          skip(tname, r.r_offset, fmt::format("relocation type {} is not supported", type));
          continue;
      }
      if (r.r_offset > size || width > size - r.r_offset) {
        skip(tname, r.r_offset, fmt::format("relocation past the section's end ({:#x} bytes)", size));
        continue;
      }
      if (sym >= value.size()) {
        skip(tname, r.r_offset, fmt::format("relocation against symbol {}, past the symbol table", sym));
        continue;
      }
      // Debug sections are at 0: P is the offset.
      std::uint64_t v = value[sym] + static_cast<std::uint64_t>(r.r_addend) - (pc ? r.r_offset : 0);
      put_le(data + r.r_offset, v, width);
    }
  }
  if (!skipped) return {};
  return first + (skipped > 1 ? fmt::format(" (and {} more relocations)", skipped - 1) : std::string()) +
         ": skipped; the DWARF there stays unrelocated";
}

}  // namespace xentt::sym::detail
