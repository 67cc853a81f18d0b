// What the typed-read tests share: a GuestMemory made of an ELF file's own
// loadable sections (its initialized data, as the program starts), so the
// values a test expects are the ones written in the C source.
#pragma once

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>
#include <fmt/format.h>

#include <cstring>
#include <string>
#include <vector>

#include "xentt/base/error.h"
#include "xentt/vmi/guest_memory.h"

namespace xentt::test {

// Every allocated section at its address (plus `slide`, a KASLR stand-in):
// PROGBITS read from the file, NOBITS (.bss) zeros. Sections at address 0
// (a vmlinux's .data..percpu) are left out, so NULL stays unmapped.
class ElfSectionMemory : public vmi::GuestMemory {
 public:
  explicit ElfSectionMemory(const std::string& path, std::uint64_t slide = 0) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw bad_input(path + ": cannot open");
    Elf64_Ehdr eh;
    if (::pread(fd_, &eh, sizeof eh, 0) != sizeof eh || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
      throw bad_input(path + ": not an ELF file");
    std::vector<Elf64_Shdr> sh(eh.e_shnum);
    auto bytes = static_cast<ssize_t>(sh.size() * sizeof(Elf64_Shdr));
    if (::pread(fd_, sh.data(), static_cast<std::size_t>(bytes), static_cast<off_t>(eh.e_shoff)) != bytes)
      throw bad_input(path + ": short section headers");
    for (const auto& s : sh)
      if ((s.sh_flags & SHF_ALLOC) && s.sh_addr != 0 && s.sh_size)
        sections_.push_back({s.sh_addr + slide, s.sh_size, s.sh_offset, s.sh_type == SHT_NOBITS});
  }
  ~ElfSectionMemory() override { ::close(fd_); }

  void read(std::uint64_t addr, std::span<std::byte> out) const override {
    std::size_t done = 0;
    while (done < out.size()) {
      std::uint64_t at = addr + done;
      const Section* hit = nullptr;
      for (const auto& s : sections_)
        if (at >= s.addr && at - s.addr < s.size) hit = &s;
      if (!hit) throw bad_input(fmt::format("guest-virtual address 0x{:x}: not mapped", at));
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size() - done, hit->addr + hit->size - at));
      if (hit->zeros) {
        std::memset(out.data() + done, 0, n);
      } else if (::pread(fd_, out.data() + done, n, static_cast<off_t>(hit->offset + (at - hit->addr))) !=
                 static_cast<ssize_t>(n)) {
        throw runtime_error(path_ + ": short read");
      }
      done += n;
    }
  }
  std::string kind() const override { return "guest-virtual"; }

 private:
  struct Section {
    std::uint64_t addr, size, offset;
    bool zeros;
  };
  std::string path_;
  int fd_ = -1;
  std::vector<Section> sections_;
};

// The value of symbol `name` in the ELF's .symtab (0 when absent): where a
// test expects a pointer to point, found without the code under test.
// Reads the section headers, .symtab and .strtab only (~10 MB of a vmlinux).
inline std::uint64_t elf_symbol(const std::string& path, const std::string& name) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  auto at = [&](std::uint64_t off, std::size_t len) {
    std::string b(len, '\0');
    if (::pread(fd, b.data(), len, static_cast<off_t>(off)) != static_cast<ssize_t>(len)) b.clear();
    return b;
  };
  std::uint64_t value = 0;
  Elf64_Ehdr eh;
  std::string h = at(0, sizeof eh);
  if (h.size() == sizeof eh) {
    std::memcpy(&eh, h.data(), sizeof eh);
    std::string shdrs = at(eh.e_shoff, std::size_t{eh.e_shnum} * sizeof(Elf64_Shdr));
    auto shdr = [&](std::size_t i) {
      Elf64_Shdr s{};
      if (shdrs.size() >= (i + 1) * sizeof s) std::memcpy(&s, shdrs.data() + i * sizeof s, sizeof s);
      return s;
    };
    for (std::size_t i = 0; i < eh.e_shnum && !value; ++i) {
      Elf64_Shdr s = shdr(i);
      if (s.sh_type != SHT_SYMTAB) continue;
      Elf64_Shdr str = shdr(s.sh_link);
      std::string syms = at(s.sh_offset, s.sh_size), strs = at(str.sh_offset, str.sh_size);
      for (std::size_t k = 0; k + 1 <= syms.size() / sizeof(Elf64_Sym); ++k) {
        Elf64_Sym sym;
        std::memcpy(&sym, syms.data() + k * sizeof sym, sizeof sym);
        if (sym.st_name < strs.size() && name == strs.c_str() + sym.st_name) {
          value = sym.st_value;
          break;
        }
      }
    }
  }
  ::close(fd);
  return value;
}

}  // namespace xentt::test
