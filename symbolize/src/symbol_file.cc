// SymbolFile: loading an ELF (libelf for the symbol table, libdw for DWARF)
// or a System.map/kallsyms text list, and answering lookups from our own
// indexes (libdwfl's per-address symbol table scans cost ~1.7 ms on a kernel).
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <charconv>
#include <utility>
#include <cstring>
#include <vector>
#include <fmt/format.h>

#include "xentt/symbolize/symbol_file.h"
#include "debug_links.h"
#include "demangle.h"
#include "dwarf_index.h"
#include "plt_symbols.h"
#include "elf_reloc.h"
#include "symtab.h"
#include "xentt/symbolize/debug_file.h"
#include "xentt/base/error.h"
#include "xentt/base/input_file.h"

namespace xentt::sym {

// A private mapping of a whole file, unmapped when destroyed.
struct Mapping {
  void* p = nullptr;
  std::size_t len = 0;
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (p) ::munmap(p, len);
  }
};

// A further ELF file a SymbolFile reads: its separate debug file, or dwz's
// supplementary file.
struct ExtraElf {
  std::string path;
  Mapping map;
  Elf* elf = nullptr;
  ~ExtraElf() {
    if (elf) elf_end(elf);
  }
};

struct SymbolFile::Impl {
  std::string path;
  void* map = nullptr;  // the whole file, mmap'ed (owned unless from memory)
  std::size_t map_len = 0;
  bool owns_map = false;
  Elf* elf = nullptr;
  std::unique_ptr<ExtraElf> debug;  // the separate debug file, when used
  std::unique_ptr<ExtraElf> alt;    // dwz's supplementary file, when used
  std::unique_ptr<detail::SupSections> sup;
  detail::Symtab symtab;
  std::unique_ptr<detail::DwarfIndex> dwarf;
  std::string warning;
  std::unique_ptr<std::byte[]> copy;  // from_memory's private copy
  std::string no_file;                // debug_file()/alt_file() when none

  ~Impl() {
    dwarf.reset();  // dwarf_end before elf_end
    sup.reset();
    alt.reset();
    debug.reset();
    if (elf) elf_end(elf);
    if (owns_map && map) ::munmap(map, map_len);
  }
};

namespace {

bool looks_like_elf(std::span<const std::byte> b) {
  return b.size() >= 4 && std::memcmp(b.data(), ELFMAG, SELFMAG) == 0;
}

// Maps `path` privately and writably: libelf (ELF_C_READ_MMAP_PRIVATE, what
// elf_memory uses) may convert or decompress data in place; the file never
// changes. Never waits on the open (a FIFO opens at once) and refuses what
// cannot be mapped, naming what it is.
void map_file(const std::string& path, const char* what, Mapping& m) {
  InputFile f = InputFile::open_regular(path, what);
  m.len = static_cast<std::size_t>(f.size());
  if (!m.len) return;
  void* p = ::mmap(nullptr, m.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, f.fd(), 0);
  if (p == MAP_FAILED) throw xentt::system_error(path + ": cannot map " + what, errno);
  m.p = p;
}

// Opens a debug or supplementary file found for `owner`; nullptr (said
// through the finder) when it is no ELF file.
std::unique_ptr<ExtraElf> open_extra(const std::string& path, const std::string& owner, const char* what,
                                     DebugFileFinder& finder) {
  auto x = std::make_unique<ExtraElf>();
  x->path = path;
  try {
    map_file(path, what, x->map);
  } catch (const xentt::Error& e) {
    finder.warn_once(std::string(e.what()) + " (for " + owner + "): not used");
    return nullptr;
  }
  x->elf = x->map.p ? elf_memory(static_cast<char*>(x->map.p), x->map.len) : nullptr;
  if (!x->elf || elf_kind(x->elf) != ELF_K_ELF) {
    finder.warn_once(fmt::format("{}: {} of {} is not a valid ELF file: not used", path, what, owner));
    return nullptr;
  }
  return x;
}

// Decompresses a file's compressed DWARF sections in place (elf_compress:
// SHF_COMPRESSED, as objcopy --compress-debug-sections and Debian's debug
// packages write them; elf_compress_gnu: the older .zdebug_* sections), so
// the section data our readers see is plain DWARF. Costs the inflation.
void decompress_debug_sections(Elf* elf) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    const char* n;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !(n = elf_strptr(elf, shstrndx, sh.sh_name)))
      continue;
    std::string_view name = n;
    if ((sh.sh_flags & SHF_COMPRESSED) && name.starts_with(".debug_"))
      elf_compress(scn, 0, 0);  // on failure the section stays compressed and reads as corrupt DWARF
    else if (name.starts_with(".zdebug_"))
      elf_compress_gnu(scn, 0, 0);
  }
}

bool has_symtab(Elf* elf) {
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB && sh.sh_size > 0) return true;
  }
  return false;
}

// Adds the symbols of `elf` (.symtab when present, else .dynsym) to `st`;
// a relocatable file's (`place`) at their section's address, those of
// sections not placed left out.
void read_symbols(detail::Symtab& st, Elf* elf, const std::string& path, std::size_t file_size,
                  const detail::SectionPlacement& place) {
  size_t shnum = 0;
  if (elf_getshdrnum(elf, &shnum) != 0) return;
  Elf_Scn* symscn = nullptr;
  GElf_Shdr symsh{};
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    if (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_DYNSYM && !symscn)) {
      symscn = scn;
      symsh = sh;
    }
  }
  if (!symscn) return;
  if (symsh.sh_type != SHT_NOBITS &&
      (symsh.sh_offset > file_size || symsh.sh_size > file_size - symsh.sh_offset))
    throw xentt::bad_input(fmt::format("{}: symbol table at offset {:#x} (size {:#x}) runs past the end of the file ({} bytes)",
                                       path, symsh.sh_offset, symsh.sh_size, file_size));
  Elf_Data* data = elf_getdata(symscn, nullptr);
  if (!data)
    throw xentt::bad_input(fmt::format("{}: unreadable symbol table at offset {:#x}: {}", path,
                                       symsh.sh_offset, elf_errmsg(-1)));
  // End address of each allocated section, to bound unsized symbols.
  std::vector<std::uint64_t> sec_end(shnum, ~0ull);
  for (size_t i = 1; i < shnum; ++i) {
    GElf_Shdr sh;
    if (Elf_Scn* scn = elf_getscn(elf, i); scn && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_ALLOC))
      sec_end[i] = (place.relocatable ? place.addr[i] : sh.sh_addr) + sh.sh_size;
  }
  // Names read from the string table directly when it ends in a NUL (then
  // every offset inside it starts a terminated string, which is what
  // elf_strptr checks for each name, at ~70 instructions a symbol).
  const char* strtab = nullptr;
  std::size_t strtab_len = 0;
  if (Elf_Scn* scn = elf_getscn(elf, symsh.sh_link)) {
    GElf_Shdr sh;
    Elf_Data* d = gelf_getshdr(scn, &sh) && sh.sh_type == SHT_STRTAB && !(sh.sh_flags & SHF_COMPRESSED)
                      ? elf_getdata(scn, nullptr)
                      : nullptr;
    if (d && d->d_buf && d->d_size && static_cast<const char*>(d->d_buf)[d->d_size - 1] == '\0') {
      strtab = static_cast<const char*>(d->d_buf);
      strtab_len = d->d_size;
    }
  }
  auto add = [&](std::uint64_t value, std::uint64_t size, unsigned char info, std::uint32_t shndx,
                 std::uint64_t name_off) {
    int type = GELF_ST_TYPE(info);
    if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE && type != STT_GNU_IFUNC) return;
    if (shndx == SHN_UNDEF || shndx == SHN_ABS) return;
    if (place.relocatable) {
      if (shndx >= place.addr.size() || !place.placed[shndx] || sec_end[shndx] == ~0ull) return;
      value += place.addr[shndx];
    }
    const char* name = strtab ? (name_off < strtab_len ? strtab + name_off : nullptr)
                              : elf_strptr(elf, symsh.sh_link, name_off);
    if (!name || !*name) return;
    // Assembler-local labels and ARM/AArch64 mapping symbols are not names.
    if ((name[0] == '.' && name[1] == 'L') || name[0] == '$') return;
    int bind = GELF_ST_BIND(info);
    auto b = bind == STB_GLOBAL ? detail::Symtab::Global
             : bind == STB_WEAK ? detail::Symtab::Weak
                                : detail::Symtab::Local;
    std::uint64_t limit = shndx < sec_end.size() ? sec_end[shndx] : ~0ull;
    st.add(value, size, name, b, type == STT_OBJECT, limit);
  };
  size_t n = symsh.sh_entsize ? data->d_size / symsh.sh_entsize : 0;
  st.reserve(n);
  // ELF64 (kernels, programs): the entries as elf_getdata converted them
  // to memory, read in place rather than copied one by one (gelf_getsym).
  if (gelf_getclass(elf) == ELFCLASS64 && data->d_type == ELF_T_SYM && symsh.sh_entsize == sizeof(Elf64_Sym) &&
      reinterpret_cast<std::uintptr_t>(data->d_buf) % alignof(Elf64_Sym) == 0) {
    const auto* syms = static_cast<const Elf64_Sym*>(data->d_buf);
    for (size_t i = 1; i < n; ++i)
      add(syms[i].st_value, syms[i].st_size, syms[i].st_info, syms[i].st_shndx, syms[i].st_name);
    return;
  }
  for (size_t i = 1; i < n; ++i) {
    GElf_Sym s;
    if (!gelf_getsym(data, static_cast<int>(i), &s)) break;
    add(s.st_value, s.st_size, s.st_info, s.st_shndx, s.st_name);
  }
}

void load_elf(SymbolFile::Impl& im, std::span<const std::byte> bytes, const LoadOptions& opt) {
  elf_version(EV_CURRENT);
  // elf_memory wants a mutable pointer but with ELF_C_READ never writes.
  im.elf = elf_memory(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())), bytes.size());
  if (!im.elf || elf_kind(im.elf) != ELF_K_ELF)
    throw xentt::bad_input(fmt::format("{}: not a valid ELF file: {}", im.path, elf_errmsg(-1)));
  GElf_Ehdr eh;
  if (!gelf_getehdr(im.elf, &eh))
    throw xentt::bad_input(fmt::format("{}: corrupt ELF header at offset 0: {}", im.path, elf_errmsg(-1)));
  if (eh.e_shoff > bytes.size() ||
      std::uint64_t(eh.e_shnum) * eh.e_shentsize > bytes.size() - eh.e_shoff)
    throw xentt::bad_input(fmt::format("{}: section header table at offset {:#x} ({} entries) runs past the end of "
                                       "the file ({} bytes): truncated or corrupt ELF",
                                       im.path, eh.e_shoff, eh.e_shnum, bytes.size()));
  size_t shnum = 0;
  if (elf_getshdrnum(im.elf, &shnum) != 0)
    throw xentt::bad_input(fmt::format("{}: corrupt section header table at offset {:#x}: {}", im.path,
                                       eh.e_shoff, elf_errmsg(-1)));

  // Where the DWARF is: the file itself, or its separate debug file.
  Elf* dw_elf = im.elf;
  void* dw_image = const_cast<std::byte*>(bytes.data());
  std::size_t dw_len = bytes.size();
  bool dw_mapped = im.owns_map;
  std::string dw_path = im.path;
  DebugFileFinder* finder = opt.debug_files;
  std::string missing;  // why no debug file was found, said below unless the load fails
  if (finder && !detail::has_debug_info(im.elf)) {
    if (auto p = finder->find_debug_file(im.path, detail::read_debug_links(im.elf), &missing)) {
      im.debug = open_extra(*p, im.path, "debug file", *finder);
      if (im.debug) {
        dw_elf = im.debug->elf;
        dw_image = im.debug->map.p;
        dw_len = im.debug->map.len;
        dw_mapped = true;
        dw_path = *p;
        if (!detail::has_debug_info(dw_elf))
          finder->warn_once(fmt::format("{}: the debug file of {} has no DWARF: symbol table only", *p, im.path));
      }
    }
  }
  // .symtab (every symbol) over .dynsym (exported only): a stripped file
  // keeps .dynsym, its debug file the .symtab.
  Elf* sym_elf = im.elf;
  std::size_t sym_len = bytes.size();
  std::string sym_path = im.path;
  if (im.debug && !has_symtab(im.elf) && has_symtab(im.debug->elf)) {
    sym_elf = im.debug->elf;
    sym_len = im.debug->map.len;
    sym_path = im.debug->path;
  }
  read_symbols(im.symtab, sym_elf, sym_path, sym_len, detail::place_sections(sym_elf, opt.sections));
  if (im.elf) detail::add_plt_symbols(im.symtab, im.elf);  // the PLT's bytes are in the file itself, never its debug file
  im.symtab.set_demangle(opt.demangle);
  im.symtab.build();
  if (!opt.dwarf && im.symtab.size() > 0) {  // symbol+offset only: the DWARF is not read
    if (!missing.empty()) finder->warn_once(im.path + ": no DWARF and " + missing + ": symbol table only");
    return;
  }

  decompress_debug_sections(dw_elf);
  // A kernel module's DWARF, relocated to where its sections are.
  if (std::string w = detail::relocate_debug_sections(dw_elf, dw_path, detail::place_sections(dw_elf, opt.sections));
      !w.empty()) {
    if (finder)
      finder->warn_once(w);
    else
      im.warning = std::move(w);
  }
  // dwz's supplementary file, when the DWARF names one.
  if (finder && dw_elf != nullptr && detail::has_debug_info(dw_elf)) {
    DebugLinks links = detail::read_debug_links(dw_elf);
    if (!links.altlink.empty()) {
      if (auto p = finder->find_alt_file(dw_path, links)) {
        im.alt = open_extra(*p, dw_path, "dwz supplementary file", *finder);
        if (im.alt) {
          decompress_debug_sections(im.alt->elf);
          auto sup = std::make_unique<detail::SupSections>();
          try {
            detail::find_sup_sections(im.alt->elf, *sup);
            im.sup = std::move(sup);
          } catch (const detail::Corrupt& e) {
            finder->warn_once(fmt::format("{}: corrupt dwz supplementary file ({} at {} offset {:#x}): not used",
                                          *p, e.what, e.section, e.offset));
            im.alt.reset();
          }
        }
      }
    }
  }
  im.dwarf = detail::DwarfIndex::open(dw_elf, dw_path, dw_image, dw_len, dw_mapped, opt.demangle, im.sup.get());
  if (im.symtab.size() == 0 && !im.dwarf)
    throw xentt::bad_input(im.path + ": ELF file has no symbols and no DWARF (stripped?)" +
                           (missing.empty() ? std::string() : ", and " + missing) +
                           ": use the unstripped or -dbg file, or install its debug file");
  if (!missing.empty()) finder->warn_once(im.path + ": no DWARF and " + missing + ": symbol table only");
}

// System.map / /proc/kallsyms: "ADDR TYPE NAME [\t[module]]" per line.
void load_text(SymbolFile::Impl& im, std::span<const std::byte> bytes, const LoadOptions& opt) {
  const char* p = reinterpret_cast<const char*>(bytes.data());
  const char* end = p + bytes.size();
  std::size_t lineno = 0;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* le = nl ? nl : end;
    ++lineno;
    std::string_view line(p, static_cast<size_t>(le - p));
    std::uint64_t off = static_cast<std::uint64_t>(p - reinterpret_cast<const char*>(bytes.data()));
    p = nl ? nl + 1 : end;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    std::uint64_t addr = 0;
    auto [q, ec] = std::from_chars(line.data(), line.data() + line.size(), addr, 16);
    auto bad = [&](const char* why) {
      return xentt::bad_input(fmt::format("{}: line {} (offset {}): {}; expected 'ADDR TYPE NAME' as in System.map",
                                          im.path, lineno, off, why));
    };
    if (ec != std::errc() || q == line.data()) throw bad("no hex address");
    std::string_view rest(q, static_cast<size_t>(line.data() + line.size() - q));
    auto skip_ws = [&] { while (!rest.empty() && (rest[0] == ' ' || rest[0] == '\t')) rest.remove_prefix(1); };
    skip_ws();
    if (rest.empty()) throw bad("no symbol type");
    char type = rest[0];
    rest.remove_prefix(1);
    skip_ws();
    std::size_t ne = rest.find_first_of(" \t");
    std::string_view name = rest.substr(0, ne);
    if (name.empty()) throw bad("no symbol name");
    // Only code and data: not absolute (a/A), undefined (U), or debugger (N) entries.
    char t = static_cast<char>(type | 0x20);
    if (!(t == 't' || t == 'w' || t == 'd' || t == 'b' || t == 'r' || t == 'v' || t == 'g' || t == 's' ||
          t == 'i'))
      continue;
    bool global = type >= 'A' && type <= 'Z';
    im.symtab.add(addr, 0, name, global ? detail::Symtab::Global : detail::Symtab::Local,
                  !(t == 't' || t == 'w' || t == 'i'));
  }
  im.symtab.set_demangle(opt.demangle);
  im.symtab.build();
  if (im.symtab.size() == 0) throw xentt::bad_input(im.path + ": no symbols in text symbol list");
}

void load_any(SymbolFile::Impl& im, std::span<const std::byte> bytes, const LoadOptions& opt) {
  if (looks_like_elf(bytes))
    load_elf(im, bytes, opt);
  else if (bytes.empty())
    throw xentt::bad_input(im.path + ": empty file, not an ELF file or symbol list");
  else if (std::memchr(bytes.data(), 0, std::min<std::size_t>(bytes.size(), 4096)))
    throw xentt::bad_input(im.path + ": neither an ELF file nor a text symbol list (binary data at offset 0)");
  else
    load_text(im, bytes, opt);
}

}  // namespace

SymbolFile::SymbolFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SymbolFile::~SymbolFile() = default;

std::unique_ptr<SymbolFile> SymbolFile::open(const std::string& path, const LoadOptions& opt) {
  auto im = std::make_unique<Impl>();
  im->path = path;
  Mapping m;
  map_file(path, "a symbol file, ELF or System.map", m);
  im->map = std::exchange(m.p, nullptr);
  im->map_len = m.len;
  im->owns_map = im->map != nullptr;
  load_any(*im, {static_cast<const std::byte*>(im->map), im->map_len}, opt);
  return std::unique_ptr<SymbolFile>(new SymbolFile(std::move(im)));
}

std::unique_ptr<SymbolFile> SymbolFile::from_memory(std::span<const std::byte> bytes, const std::string& name,
                                                    const LoadOptions& opt) {
  auto im = std::make_unique<Impl>();
  im->path = name;
  // A private, aligned copy: libelf may convert data in place.
  im->copy.reset(new std::byte[bytes.size() + 1]);
  if (!bytes.empty()) std::memcpy(im->copy.get(), bytes.data(), bytes.size());
  LoadOptions o = opt;
  o.debug_files = nullptr;  // nothing on disk belongs to a memory image
  load_any(*im, {im->copy.get(), bytes.size()}, o);
  return std::unique_ptr<SymbolFile>(new SymbolFile(std::move(im)));
}

const std::string& SymbolFile::path() const noexcept { return impl_->path; }
std::size_t SymbolFile::symbol_count() const noexcept { return impl_->symtab.size(); }
bool SymbolFile::has_dwarf() const noexcept { return impl_->dwarf != nullptr; }
const std::string& SymbolFile::debug_file() const noexcept { return impl_->debug ? impl_->debug->path : impl_->no_file; }
const std::string& SymbolFile::alt_file() const noexcept { return impl_->alt ? impl_->alt->path : impl_->no_file; }
std::string_view SymbolFile::shown_name(const SymbolRange* s) const { return impl_->symtab.shown(s); }
bool SymbolFile::demangles_symbols() const noexcept { return impl_->symtab.demangles(); }

std::string demangle(std::string_view name) {
  if (!detail::maybe_mangled(name)) return std::string(name);
  auto d = detail::demangle_name(name);
  return d ? std::move(*d) : std::string(name);
}

const SymbolRange* SymbolFile::symbol_at(std::uint64_t addr) const noexcept { return impl_->symtab.at(addr); }

std::optional<SymbolRange> SymbolFile::find_symbol(std::string_view name) const { return impl_->symtab.find(name); }

void SymbolFile::frames_at(std::uint64_t addr, bool inlines, std::vector<Frame>& out) {
  out.clear();
  std::uint64_t plain_entry = 0;
  if (impl_->dwarf) {
    plain_entry = impl_->dwarf->frames_at(addr, inlines, out);
    if (impl_->warning.empty()) impl_->warning = impl_->dwarf->take_warning();
  }
  name_frames(addr, plain_entry, out);
}

void SymbolFile::frames_at_parsed(std::uint64_t addr, bool inlines, std::vector<Frame>& out) const {
  out.clear();
  std::uint64_t plain_entry = impl_->dwarf ? impl_->dwarf->frames_at_parsed(addr, inlines, out) : 0;
  name_frames(addr, plain_entry, out);
}

void SymbolFile::name_frames(std::uint64_t addr, std::uint64_t plain_entry, std::vector<Frame>& out) const {
  // As addr2line does: code with no DWARF subprogram (assembly) or no line
  // information is named from the symbol table; and a function whose DWARF
  // has only a plain name (static C++ functions: "mean", not
  // "_ZL4meanRK5Stats") takes the name of the symbol that starts at its
  // entry, unless the DWARF name is itself one of the symbols there (a C
  // function with aliases keeps its own name).
  const SymbolRange* s = symbol_at(addr);
  if (out.empty()) {
    if (s) out.push_back(Frame{shown_name(s), {}, 0, 0});
  } else if (out.back().function.empty()) {
    if (s) out.back().function = shown_name(s);
  } else if (plain_entry && s && s->lo == plain_entry && s->name != out.back().function) {
    // (A plain DWARF name is no linkage name: compared undemangled.)
    if (!impl_->symtab.has_symbol_at(out.back().function, plain_entry)) out.back().function = shown_name(s);
  }
}

void SymbolFile::prefetch(std::span<const std::uint64_t> addrs, unsigned threads) {
  if (!impl_->dwarf) return;
  impl_->dwarf->prefetch(addrs.data(), addrs.size(), threads);
  if (impl_->warning.empty()) impl_->warning = impl_->dwarf->take_warning();
}

std::string SymbolFile::take_warning() { return std::move(impl_->warning); }

}  // namespace xentt::sym
