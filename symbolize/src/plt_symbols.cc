#include "plt_symbols.h"

#include <fmt/format.h>
#include <gelf.h>

#include <cstring>
#include <string_view>
#include <unordered_map>

namespace xentt::sym::detail {

namespace {

struct GotSlot {
  std::uint32_t type = 0;
  std::uint32_t sym = 0;
  std::int64_t addend = 0;
  std::size_t symtab = 0;  // the section index of its symbol table
};

}  // namespace

void add_plt_symbols(Symtab& st, Elf* elf) {
  GElf_Ehdr eh;
  if (!gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64) return;
  std::size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return;
  // GOT slot address -> the relocation that fills it.
  std::unordered_map<std::uint64_t, GotSlot> slots;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !(sh.sh_flags & SHF_ALLOC)) continue;
    Elf_Data* d = elf_getdata(scn, nullptr);
    if (!d || !sh.sh_entsize) continue;
    for (std::size_t i = 0, n = d->d_size / sh.sh_entsize; i < n; ++i) {
      GElf_Rela r;
      if (!gelf_getrela(d, static_cast<int>(i), &r)) break;
      std::uint32_t type = static_cast<std::uint32_t>(GELF_R_TYPE(r.r_info));
      if (type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT || type == R_X86_64_IRELATIVE)
        slots[r.r_offset] = {type, static_cast<std::uint32_t>(GELF_R_SYM(r.r_info)), r.r_addend, sh.sh_link};
    }
  }
  if (slots.empty()) return;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR)) continue;
    const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
    if (!name || (std::strcmp(name, ".plt") && std::strcmp(name, ".plt.sec") && std::strcmp(name, ".plt.got"))) continue;
    Elf_Data* d = elf_getdata(scn, nullptr);
    if (!d || !d->d_buf || d->d_size != sh.sh_size) continue;
    const auto* code = static_cast<const std::uint8_t*>(d->d_buf);
    std::uint64_t entsize = sh.sh_entsize >= 8 && sh.sh_entsize <= 32 ? sh.sh_entsize : 16;
    for (std::uint64_t off = 0; off + entsize <= sh.sh_size; off += entsize) {
      // The entry's jmp *disp32(%rip): ff 25, after an endbr64 / push /
      // bnd prefix; the first one is the jump through its own slot.
      for (std::uint64_t p = off; p + 6 <= off + entsize; ++p) {
        if (code[p] != 0xff || code[p + 1] != 0x25) continue;
        std::int32_t disp;
        std::memcpy(&disp, code + p + 2, 4);
        std::uint64_t got = sh.sh_addr + p + 6 + static_cast<std::int64_t>(disp);
        auto it = slots.find(got);
        if (it == slots.end()) {  // PLT0's jump to the lazy resolver (objdump labels it <.plt>), or an unknown slot
          if (off == 0 && !std::strcmp(name, ".plt")) st.add(sh.sh_addr, entsize, ".plt", Symtab::Local, false);
          break;
        }
        std::string label;
        if (it->second.type == R_X86_64_IRELATIVE) {
          label = fmt::format("*ABS*+{:#x}@plt", it->second.addend);
        } else {
          GElf_Sym s;
          Elf_Scn* symscn = elf_getscn(elf, it->second.symtab);
          Elf_Data* sd = symscn ? elf_getdata(symscn, nullptr) : nullptr;
          GElf_Shdr ssh;
          const char* sname = sd && gelf_getshdr(symscn, &ssh) && gelf_getsym(sd, static_cast<int>(it->second.sym), &s)
                                  ? elf_strptr(elf, ssh.sh_link, s.st_name)
                                  : nullptr;
          if (!sname || !*sname) break;
          label = std::string(sname) + "@plt";
        }
        st.add(sh.sh_addr + off, entsize, st.keep_name(std::move(label)), Symtab::Local, false);
        break;
      }
    }
  }
}

}  // namespace xentt::sym::detail
