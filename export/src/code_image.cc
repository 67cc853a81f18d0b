#include "xentt/export/code_image.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "xentt/base/error.h"

namespace xentt::exports {

struct CodeImage::Mapping {
  void* p = nullptr;
  std::size_t len = 0;
  ~Mapping() {
    if (p) ::munmap(p, len);
  }
};

CodeImage::CodeImage() = default;
CodeImage::~CodeImage() = default;

void CodeImage::add_segment(Segment s) {
  auto it = std::lower_bound(segments_.begin(), segments_.end(), s.lo,
                             [](const Segment& a, std::uint64_t lo) { return a.lo < lo; });
  segments_.insert(it, s);
}

void CodeImage::add(std::uint64_t addr, std::span<const std::uint8_t> bytes, const std::string& path) {
  add_segment({addr, addr + bytes.size(), bytes.data()});
  modules_.push_back({addr, addr + bytes.size(), path, "", true});
}

std::unique_ptr<CodeImage> CodeImage::from_maps(const std::vector<sym::SymbolMapSpec>& maps,
                                                const std::function<void(const std::string&)>& warn) {
  auto img = std::make_unique<CodeImage>();
  for (const auto& m : maps) {
    try {
      img->add_map(m);
    } catch (const Error& e) {
      if (!warn) throw;
      warn(std::string(e.what()) + " (its code is left out)");
      img->modules_.push_back({m.lo, m.hi, m.path, m.prefix, false});
    }
  }
  return img;
}

// Checks the whole file before keeping anything of it: a damaged file
// adds neither segments nor a mapping.
void CodeImage::add_map(const sym::SymbolMapSpec& m) {
  std::vector<Segment> segs;
  {
    Module mod{m.lo, m.hi, m.path, m.prefix, false};
    int fd = ::open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw system_error(m.path + ": cannot open the symbol file", errno);
    struct stat st {};
    ::fstat(fd, &st);
    auto map = std::make_unique<Mapping>();
    if (st.st_size >= static_cast<off_t>(sizeof(Elf64_Ehdr))) {
      map->len = static_cast<std::size_t>(st.st_size);
      void* p = ::mmap(nullptr, map->len, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        throw system_error(m.path + ": cannot map the symbol file", e);
      }
      map->p = p;
    }
    ::close(fd);
    const auto* base = static_cast<const std::uint8_t*>(map->p);
    if (base && std::memcmp(base, ELFMAG, SELFMAG) == 0) {
      if (base[EI_CLASS] != ELFCLASS64)
        throw bad_input(m.path + ": a 32-bit ELF file; the exports decode 64-bit code only");
      Elf64_Ehdr eh;
      std::memcpy(&eh, base, sizeof eh);
      if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > map->len ||
          eh.e_phnum > (map->len - eh.e_phoff) / sizeof(Elf64_Phdr))
        throw bad_input(m.path + ": damaged ELF file (program headers outside the file)");
      std::uint64_t lo = ~0ull, hi = 0;
      for (unsigned k = 0; k < eh.e_phnum; ++k) {
        Elf64_Phdr ph;
        std::memcpy(&ph, base + eh.e_phoff + k * sizeof(Elf64_Phdr), sizeof ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
        if (ph.p_offset > map->len || ph.p_filesz > map->len - ph.p_offset)
          throw bad_input(m.path + ": damaged ELF file (segment " + std::to_string(k) + " outside the file)");
        std::uint64_t glo = ph.p_vaddr + m.bias, ghi = glo + ph.p_memsz;
        lo = std::min(lo, glo);
        hi = std::max(hi, ghi);
        if (!(ph.p_flags & PF_X) || ph.p_filesz == 0) continue;
        // Cut to the map's range: only addresses the map covers are its code.
        std::uint64_t clo = std::max(glo, m.lo), chi = std::min<std::uint64_t>(glo + ph.p_filesz, m.hi);
        if (clo >= chi) continue;
        segs.push_back({clo, chi, base + ph.p_offset + (clo - glo)});
        mod.has_code = true;
      }
      if (lo < hi) {
        mod.base = std::max(lo, m.lo);
        mod.end = std::min<std::uint64_t>(hi, m.hi);
      }
      for (const Segment& sg : segs) add_segment(sg);
      mappings_.push_back(std::move(map));
    }
    modules_.push_back(std::move(mod));
  }
}

std::span<const std::uint8_t> CodeImage::at(std::uint64_t addr) const noexcept {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), addr,
                             [](std::uint64_t a, const Segment& s) { return a < s.lo; });
  if (it == segments_.begin()) return {};
  --it;
  if (addr >= it->hi) return {};
  return {it->bytes + (addr - it->lo), static_cast<std::size_t>(it->hi - addr)};
}

int CodeImage::module_of(std::uint64_t addr, bool with_code) const noexcept {
  for (std::size_t i = 0; i < modules_.size(); ++i)
    if (addr >= modules_[i].base && (addr < modules_[i].end || modules_[i].end == ~0ull) &&
        (!with_code || modules_[i].has_code))
      return int(i);
  return -1;
}

}  // namespace xentt::exports
