#include "dwarf_index.h"

#include <dwarf.h>
#include <gelf.h>
#include <sys/mman.h>
#include <fmt/format.h>

#include <algorithm>
#include <thread>
#include <unordered_map>

#include "xentt/error.h"

namespace bts::detail {

namespace {

// Linkage name first (what addr2line -f and llvm-symbolizer print, mangled),
// then the plain name, following abstract_origin/specification.
const char* scope_name(Dwarf_Die* die, bool* linkage) {
  Dwarf_Attribute a;
  for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name}) {
    if (dwarf_attr_integrate(die, at, &a)) {
      if (const char* s = dwarf_formstring(&a)) {
        *linkage = at != DW_AT_name;
        return s;
      }
    }
  }
  *linkage = false;
  return nullptr;
}

// Adds every [lo, hi) range of a DIE; returns how many.
template <class F>
int for_each_range(Dwarf_Die* die, F&& f) {
  Dwarf_Addr base, lo, hi;
  ptrdiff_t off = 0;
  int n = 0;
  while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
    if (lo < hi) {
      f(lo, hi);
      ++n;
    }
  }
  return n;
}

}  // namespace

std::unique_ptr<DwarfIndex> DwarfIndex::open(Elf* elf, const std::string& path, void* image, std::size_t image_len,
                                             bool mapped) {
  Dwarf* dw = dwarf_begin_elf(elf, DWARF_C_READ, nullptr);
  if (!dw) return nullptr;  // no .debug_info: symbols only
  std::unique_ptr<DwarfIndex> ix(new DwarfIndex(dw, path));
  ix->main_.elf = elf;
  ix->image_ = image;
  ix->image_len_ = image_len;
  // Dropping pages is only safe when libelf converted nothing in place: a
  // native (little-endian, 64-bit) file mapped from disk.
  GElf_Ehdr eh;
  ix->native_ = image && gelf_getehdr(elf, &eh) && eh.e_ident[EI_DATA] == ELFDATA2LSB &&
                eh.e_ident[EI_CLASS] == ELFCLASS64 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
  ix->drop_pages_ = mapped && ix->native_;
  size_t shstrndx = 0;
  if (ix->drop_pages_ && elf_getshdrstrndx(elf, &shstrndx) == 0) {
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
      GElf_Shdr sh;
      const char* name;
      if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || (sh.sh_flags & SHF_COMPRESSED) ||
          !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
        continue;
      std::string_view n = name;
      if (n == ".debug_info" || n == ".debug_line" || n == ".debug_rnglists" || n == ".debug_ranges" ||
          n == ".debug_loclists" || n == ".debug_loc") {
        // Whole pages inside the section only (neighbours are not ours to drop).
        std::uint64_t b = (sh.sh_offset + 4095) & ~4095ull, e = (sh.sh_offset + sh.sh_size) & ~4095ull;
        if (e > b && e <= image_len) ix->parse_once_.push_back({b, e - b});
      }
    }
  }
  // dwarf_get_units reads unit headers only; the unit DIE's range
  // attributes are the one thing we decode per unit here.
  Dwarf_CU* cu = nullptr;
  Dwarf_Half version = 0;
  uint8_t unit_type = 0;
  Dwarf_Die cudie;
  int rc;
  while ((rc = dwarf_get_units(dw, cu, &cu, &version, &unit_type, &cudie, nullptr)) == 0) {
    if (unit_type != DW_UT_compile && unit_type != DW_UT_partial) continue;
    auto idx = static_cast<std::uint32_t>(ix->units_.size());
    int n = for_each_range(&cudie, [&](Dwarf_Addr lo, Dwarf_Addr hi) { ix->unit_index_.add(lo, hi, idx); });
    if (n > 0) ix->units_.push_back({dwarf_dieoffset(&cudie), nullptr, false});
  }
  if (rc < 0) {
    Dwarf_Off at = cu && dwarf_cu_die(cu, &cudie, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr)
                       ? dwarf_dieoffset(&cudie)
                       : 0;
    throw xentt::bad_input(fmt::format("{}: corrupt DWARF unit header after .debug_info offset {:#x}: {}",
                                       path, at, dwarf_errmsg(-1)));
  }
  ix->unit_index_.build();
  return ix;
}

DwarfIndex::~DwarfIndex() {
  if (main_.dw) dwarf_end(main_.dw);
  if (aux_.dw) dwarf_end(aux_.dw);
  if (aux_.elf) elf_end(aux_.elf);
}

void DwarfIndex::prefetch(const std::uint64_t* addrs, std::size_t n, unsigned threads) {
  std::vector<std::uint32_t> need;
  std::vector<bool> seen(units_.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t ui = unit_index_.find(addrs[i]);
    if (ui == IntervalIndex::kNone || seen[ui] || units_[ui].data || units_[ui].failed) continue;
    seen[ui] = true;
    need.push_back(ui);
  }
  // A thread costs ~50 us; below a few units it is not worth it.
  // A second libelf handle on the image is safe only when libelf converts
  // nothing in place (a native file).
  if (threads < 2 || need.size() < 4 || !native_) {
    for (std::uint32_t ui : need) load(units_[ui]);
    return;
  }
  if (!aux_.elf) {
    aux_.elf = elf_memory(static_cast<char*>(image_), image_len_);
    if (aux_.elf) aux_.dw = dwarf_begin_elf(aux_.elf, DWARF_C_READ, nullptr);
    if (!aux_.dw) {
      for (std::uint32_t ui : need) load(units_[ui]);
      return;
    }
  }
  std::string aux_warning;
  // Odd positions on the helper thread, even ones here: the two threads
  // write distinct Unit slots; join() publishes the helper's.
  std::thread helper([&] {
    for (std::size_t i = 1; i < need.size(); i += 2) load_with(units_[need[i]], aux_, aux_warning);
  });
  for (std::size_t i = 0; i < need.size(); i += 2) load(units_[need[i]]);
  helper.join();
  if (warning_.empty()) warning_ = std::move(aux_warning);
}

void DwarfIndex::walk(Dwarf_Die* die, std::uint32_t parent, std::uint32_t depth, UnitData& d,
                      Dwarf_Files* files, std::size_t nfiles, int level, std::vector<const char*>& call_files) {
  if (level > 256) return;  // corrupt (cyclic) trees: stop rather than overflow the stack
  Dwarf_Die child;
  if (dwarf_child(die, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    switch (tag) {
      case DW_TAG_subprogram:
      case DW_TAG_inlined_subroutine: {
        // Ranges first: most subprogram DIEs of a kernel unit are
        // declarations without code, and skipping them early is what keeps
        // a unit's first lookup in the millisecond range.
        // Code-less DIEs (declarations, abstract instances) are rejected
        // by their abbreviation alone, without decoding any attribute.
        if (!dwarf_hasattr(&child, DW_AT_low_pc) && !dwarf_hasattr(&child, DW_AT_ranges)) break;
        auto idx = static_cast<std::uint32_t>(d.scopes.size());
        std::uint32_t sdepth = tag == DW_TAG_subprogram ? 0 : depth + 1;
        std::uint64_t entry = ~0ull;
        int n = for_each_range(&child, [&](Dwarf_Addr lo, Dwarf_Addr hi) {
          d.scope_index.add(lo, hi, idx, sdepth);
          entry = std::min<std::uint64_t>(entry, lo);
        });
        if (n == 0) break;
        bool linkage = false;
        const char* name = scope_name(&child, &linkage);
        // A subprogram nested in another (GNU C nested functions) stands alone.
        Scope s{name ? std::string_view(name) : std::string_view(), kNoFile, 0, 0,
                tag == DW_TAG_subprogram ? IntervalIndex::kNone : parent, linkage, entry};
        const char* call_file = nullptr;
        if (tag == DW_TAG_inlined_subroutine) {
          Dwarf_Attribute a;
          Dwarf_Word w;
          if (dwarf_attr(&child, DW_AT_call_file, &a) && dwarf_formudata(&a, &w) == 0 && files && w < nfiles)
            call_file = dwarf_filesrc(files, w, nullptr, nullptr);
          if (dwarf_attr(&child, DW_AT_call_line, &a) && dwarf_formudata(&a, &w) == 0)
            s.call_line = static_cast<std::uint32_t>(w);
          if (dwarf_attr(&child, DW_AT_call_column, &a) && dwarf_formudata(&a, &w) == 0)
            s.call_column = static_cast<std::uint32_t>(w);
        }
        d.scopes.push_back(s);
        call_files.push_back(call_file);
        walk(&child, idx, sdepth, d, files, nfiles, level + 1, call_files);
        break;
      }
      case DW_TAG_lexical_block:
      case DW_TAG_namespace:
      case DW_TAG_module:
        // Containers that may hold code-bearing scopes. Types are not
        // entered: GCC and Clang put member function definitions (the
        // DIEs with code) at namespace or unit level, pointing back at the
        // declaration in the class with DW_AT_specification.
        walk(&child, parent, depth, d, files, nfiles, level + 1, call_files);
        break;
      default:
        break;  // types, variables, parameters: no code ranges of their own
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

DwarfIndex::UnitData* DwarfIndex::load_with(Unit& u, Handle& h, std::string& warning) {
  if (u.data) return u.data.get();
  if (u.failed || !h.dw) return nullptr;
  auto d = std::make_unique<UnitData>();
  Dwarf_Die cudie;
  if (!dwarf_offdie(h.dw, u.die_offset, &cudie)) {
    u.failed = true;
    warning = fmt::format("{}: corrupt compile unit at .debug_info offset {:#x}: {}", path_, u.die_offset,
                           dwarf_errmsg(-1));
    return nullptr;
  }
  // File names are copied into the unit's own storage (libdw's Dwarf_Files
  // are freed when the Dwarf handle is recycled, see below); relative ones
  // are joined with the unit's DW_AT_comp_dir, as addr2line and
  // llvm-symbolizer print them.
  Dwarf_Attribute cda;
  const char* comp_dir = dwarf_attr(&cudie, DW_AT_comp_dir, &cda) ? dwarf_formstring(&cda) : nullptr;
  std::unordered_map<const char*, std::uint32_t> seen;
  const char* last_in = nullptr;
  std::uint32_t last_out = kNoFile;
  auto file_index = [&](const char* f) -> std::uint32_t {
    if (!f) return kNoFile;
    if (f == last_in) return last_out;  // consecutive rows share their file
    last_in = f;
    auto [it, fresh] = seen.emplace(f, 0);
    if (fresh) {
      std::string full = (f[0] == '/' || !comp_dir || !*comp_dir) ? std::string(f) : std::string(comp_dir) + "/" + f;
      d->strings.push_back(std::make_unique<std::string>(std::move(full)));
      it->second = static_cast<std::uint32_t>(d->files.size());
      d->files.push_back(*d->strings.back());
    }
    return last_out = it->second;
  };
  Dwarf_Lines* lines = nullptr;
  size_t nlines = 0;
  if (dwarf_getsrclines(&cudie, &lines, &nlines) == 0) {
    std::vector<std::pair<std::uint64_t, Row>> tmp;
    tmp.reserve(nlines);
    for (size_t i = 0; i < nlines; ++i) {
      Dwarf_Line* l = dwarf_onesrcline(lines, i);
      Dwarf_Addr a;
      int ln = 0, col = 0;
      bool end = false;
      if (!l || dwarf_lineaddr(l, &a) != 0) continue;
      dwarf_lineno(l, &ln);
      dwarf_linecol(l, &col);
      dwarf_lineendsequence(l, &end);
      tmp.push_back({a, Row{file_index(dwarf_linesrc(l, nullptr, nullptr)), static_cast<std::uint32_t>(ln),
                            static_cast<std::uint32_t>(col) & 0x7fffffffu, end ? 1u : 0u}});
    }
    // End-of-sequence rows sort before rows at the same address, so an
    // address where one sequence ends and the next begins finds the new
    // one; among equal addresses the table's last row wins (as in
    // llvm-symbolizer and addr2line).
    auto before = [](const std::pair<std::uint64_t, Row>& a, const std::pair<std::uint64_t, Row>& b) {
      if (a.first != b.first) return a.first < b.first;
      return a.second.end_seq > b.second.end_seq;
    };
    // libdw usually hands the rows over in this order already.
    if (!std::is_sorted(tmp.begin(), tmp.end(), before)) std::stable_sort(tmp.begin(), tmp.end(), before);
    // Addresses and row data apart: the search touches 8 bytes a row, and
    // a row costs 12 + 8 + 1 bytes (the bucket table, 4 rows a bucket).
    d->rows.reserve(tmp.size());
    d->row_addr.vec().reserve(tmp.size());
    for (const auto& [a, r] : tmp) {
      d->row_addr.vec().push_back(a);
      d->rows.push_back(r);
    }
    d->row_addr.build(4);
  } else {
    warning = fmt::format("{}: no usable line table in compile unit at .debug_info offset {:#x}: {}", path_,
                           u.die_offset, dwarf_errmsg(-1));
  }
  Dwarf_Files* files = nullptr;
  size_t nfiles = 0;
  if (dwarf_getsrcfiles(&cudie, &files, &nfiles) != 0) files = nullptr;
  std::vector<const char*> call_files;
  walk(&cudie, IntervalIndex::kNone, 0, *d, files, nfiles, 0, call_files);
  for (std::size_t i = 0; i < d->scopes.size(); ++i) d->scopes[i].call_file = file_index(call_files[i]);
  d->scope_index.build();
  u.data = std::move(d);
  UnitData* ready = u.data.get();
  recycle(h);
  return ready;
}

void DwarfIndex::recycle(Handle& h) {
  // libdw keeps every unit's abbreviations, line table and file list in
  // malloc'ed memory until dwarf_end, and the pages of the sections parsed
  // stay resident: for a kernel that is hundreds of MB after a few thousand
  // units, none of which we need once a unit is indexed (our rows and
  // scopes point only at strings in the mapped file or in our own storage).
  // So every kRecycleEvery units the handle is closed and reopened (a few
  // ms), and the mapping's clean pages of parsed sections are dropped (re-read from the page
  // cache when touched again). Only sections read once per unit are
  // dropped; strings (names we print) and abbreviations stay.
  if (++h.loads < kRecycleEvery) return;
  h.loads = 0;
  dwarf_end(h.dw);
  h.dw = dwarf_begin_elf(h.elf, DWARF_C_READ, nullptr);
  if (drop_pages_)
    for (auto [off, len] : parse_once_) ::madvise(static_cast<char*>(image_) + off, len, MADV_DONTNEED);
}

std::uint64_t DwarfIndex::frames_at(std::uint64_t addr, bool inlines, std::vector<Frame>& out) {
  out.clear();
  std::uint32_t ui = unit_index_.find(addr);
  if (ui == IntervalIndex::kNone) return 0;
  UnitData* d = load(units_[ui]);
  if (!d) return 0;

  Frame inner;
  std::size_t ri = d->row_addr.last_le(addr);
  if (ri != SortedAddresses::kNotFound) {
    const Row& r = d->rows[ri];
    if (!r.end_seq) {
      if (r.file != kNoFile) inner.file = d->files[r.file];
      inner.line = r.line;
      inner.column = r.column;
    }
  }
  std::uint32_t si = d->scope_index.find(addr);
  if (si == IntervalIndex::kNone) {
    if (inner.line || !inner.file.empty()) out.push_back(inner);
    return 0;
  }
  const Scope* s = &d->scopes[si];
  inner.function = s->name;
  out.push_back(inner);
  if (!inlines) return !s->linkage && s->parent == IntervalIndex::kNone ? s->entry : 0;
  while (s->parent != IntervalIndex::kNone) {
    const Scope* p = &d->scopes[s->parent];
    Frame f;
    f.function = p->name;
    if (s->call_file != kNoFile) f.file = d->files[s->call_file];
    f.line = s->call_line;
    f.column = s->call_column;
    out.push_back(f);
    s = p;
  }
  return s->linkage ? 0 : s->entry;
}

}  // namespace bts::detail
