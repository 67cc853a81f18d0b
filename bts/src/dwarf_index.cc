#include "dwarf_index.h"

#include <dwarf.h>
#include <gelf.h>
#include <sys/mman.h>
#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "xentt/error.h"

namespace bts::detail {

std::unique_ptr<DwarfIndex> DwarfIndex::open(Elf* elf, const std::string& path, void* image, std::size_t image_len,
                                             bool mapped) {
  Dwarf* dw = dwarf_begin_elf(elf, DWARF_C_READ, nullptr);
  if (!dw) return nullptr;  // no .debug_info: symbols only
  std::unique_ptr<DwarfIndex> ix(new DwarfIndex(path));
  // After dwarf_begin_elf: compressed sections are decompressed in place.
  ix->sections_ = find_dwarf_sections(elf);
  ix->image_ = image;
  // Dropping pages is only safe when libelf converted nothing in place: a
  // native (little-endian, 64-bit) file mapped from disk.
  GElf_Ehdr eh;
  bool native = image && gelf_getehdr(elf, &eh) && eh.e_ident[EI_DATA] == ELFDATA2LSB &&
                eh.e_ident[EI_CLASS] == ELFCLASS64 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
  ix->drop_pages_ = mapped && native;
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
  // attributes are the one thing decoded per unit here (~0.05 s for a
  // kernel's 2.9k units).
  Dwarf_CU* cu = nullptr;
  Dwarf_Half version = 0;
  uint8_t unit_type = 0;
  Dwarf_Die cudie;
  int rc;
  while ((rc = dwarf_get_units(dw, cu, &cu, &version, &unit_type, &cudie, nullptr)) == 0) {
    // The unit header: the unit DIE's offset less its offset inside the unit.
    ix->starts_.push_back(dwarf_dieoffset(&cudie) - dwarf_cuoffset(&cudie));
    if (unit_type != DW_UT_compile && unit_type != DW_UT_partial) continue;
    auto idx = static_cast<std::uint32_t>(ix->units_.size());
    Dwarf_Addr base, lo, hi;
    ptrdiff_t off = 0;
    int n = 0;
    while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
      if (lo < hi) ix->unit_index_.add(lo, hi, idx), ++n;
    }
    if (n > 0) ix->units_.push_back({ix->starts_.back(), nullptr, false});
  }
  if (rc < 0) {
    Dwarf_Off at = cu && dwarf_cu_die(cu, &cudie, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr)
                       ? dwarf_dieoffset(&cudie)
                       : 0;
    std::string msg = dwarf_errmsg(-1);
    dwarf_end(dw);
    throw xentt::bad_input(fmt::format("{}: corrupt DWARF unit header after .debug_info offset {:#x}: {}",
                                       path, at, msg));
  }
  // libdw's work is done: its per-unit abbreviations and DIE caches go.
  dwarf_end(dw);
  std::sort(ix->starts_.begin(), ix->starts_.end());
  ix->unit_index_.build();
  return ix;
}

DwarfIndex::~DwarfIndex() = default;

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
  if (threads < 2 || need.size() < 4) {
    for (std::uint32_t ui : need) load(units_[ui]);
    return;
  }
  std::string aux_warning;
  // Odd positions on the helper thread, even ones here: the two threads
  // write distinct Unit slots; join() publishes the helper's.
  std::thread helper([&] {
    Scratch scratch;
    for (std::size_t i = 1; i < need.size(); i += 2) load_with(units_[need[i]], aux_warning, scratch);
  });
  for (std::size_t i = 0; i < need.size(); i += 2) load(units_[need[i]]);
  helper.join();
  if (warning_.empty()) warning_ = std::move(aux_warning);
}

DwarfIndex::UnitData* DwarfIndex::load_with(Unit& u, std::string& warning, Scratch& scratch) {
  if (u.data) return u.data.get();
  if (u.failed) return nullptr;
  auto d = std::make_unique<UnitData>();
  try {
    parse(u, *d, scratch);
  } catch (const Corrupt& e) {
    // The whole unit answers nothing rather than half answers.
    u.failed = true;
    warning = fmt::format("{}: corrupt DWARF in the compile unit at .debug_info offset {:#x}: {} at {} offset {:#x}",
                          path_, u.offset, e.what, e.section, e.offset);
    return nullptr;
  }
  u.data = std::move(d);
  if (drop_pages_ && (loads_.fetch_add(1, std::memory_order_relaxed) + 1) % kDropEvery == 0) drop_pages();
  return u.data.get();
}

namespace {

// A unit's line program has one sequence per code section (.text,
// .init.text, .text.unlikely, ...), each in address order but not in
// address order with each other. Sorting the sequences (a handful) and
// concatenating them costs a copy; a stable sort of the rows, which it
// falls back to when sequences overlap, costs ~5x more. `out` is scratch
// space (kept by the caller, so its capacity is reused).
template <class Less>
void sort_rows(std::vector<std::pair<std::uint64_t, LineRow>>& rows, Less before,
               std::vector<std::pair<std::uint64_t, LineRow>>& out) {
  std::vector<std::pair<std::size_t, std::size_t>> seqs;  // [begin, end) in rows
  for (std::size_t i = 0, b = 0; i < rows.size(); ++i) {
    if (rows[i].second.end_seq || i + 1 == rows.size()) {
      seqs.push_back({b, i + 1});
      b = i + 1;
    }
  }
  std::stable_sort(seqs.begin(), seqs.end(), [&](const auto& a, const auto& b) {
    return before(rows[a.first], rows[b.first]);
  });
  out.clear();
  out.reserve(rows.size());
  for (auto [b, e] : seqs) out.insert(out.end(), rows.begin() + static_cast<std::ptrdiff_t>(b),
                                      rows.begin() + static_cast<std::ptrdiff_t>(e));
  if (std::is_sorted(out.begin(), out.end(), before)) {
    rows.swap(out);
    return;
  }
  std::stable_sort(rows.begin(), rows.end(), before);
}

}  // namespace

void DwarfIndex::parse(Unit& u, UnitData& d, Scratch& scratch) {
  UnitReader ur(sections_, u.offset);
  LineTable& lt = scratch.lines;
  lt.rows.clear();
  lt.files.clear();
  if (ur.has_stmt_list()) read_line_table(sections_, ur, ur.stmt_list(), lt);

  // File names are materialized for the files rows and call sites use:
  // relative ones are joined with their directory, then with the unit's
  // DW_AT_comp_dir, as addr2line and llvm-symbolizer print them.
  std::string_view comp_dir = ur.comp_dir();
  std::vector<std::uint32_t> slot(lt.files.size(), kNoFile);
  auto file_index = [&](std::uint32_t f) -> std::uint32_t {
    if (f >= lt.files.size()) return kNoFile;
    if (slot[f] != kNoFile) return slot[f];
    const LineFile& lf = lt.files[f];
    if (lf.name.empty()) return kNoFile;
    std::string full(lf.name);
    if (full[0] != '/' && !lf.dir.empty()) full = std::string(lf.dir) + "/" + full;
    if (full[0] != '/' && !comp_dir.empty()) full = std::string(comp_dir) + "/" + full;
    d.strings.push_back(std::make_unique<std::string>(std::move(full)));
    slot[f] = static_cast<std::uint32_t>(d.files.size());
    d.files.push_back(*d.strings.back());
    return slot[f];
  };

  // End-of-sequence rows sort before rows at the same address, so an
  // address where one sequence ends and the next begins finds the new
  // one; among equal addresses the table's last row wins (as in
  // llvm-symbolizer and addr2line).
  auto before = [](const std::pair<std::uint64_t, Row>& a, const std::pair<std::uint64_t, Row>& b) {
    if (a.first != b.first) return a.first < b.first;
    return a.second.end_seq > b.second.end_seq;
  };
  if (!std::is_sorted(lt.rows.begin(), lt.rows.end(), before)) sort_rows(lt.rows, before, scratch.sorted);
  // Addresses and row data apart: the search touches 8 bytes a row, and
  // a row costs 12 + 8 + 1 bytes (the bucket table, 4 rows a bucket).
  d.rows.reserve(lt.rows.size());
  d.row_addr.vec().reserve(lt.rows.size());
  std::uint32_t last_in = kNoFile, last_out = kNoFile;
  for (auto [a, r] : lt.rows) {
    if (r.file != last_in) last_in = r.file, last_out = file_index(r.file);  // consecutive rows share their file
    r.file = last_out;
    d.row_addr.vec().push_back(a);
    d.rows.push_back(r);
  }
  d.row_addr.build(4);

  read_scopes(sections_, ur, starts_, d.scopes, d.scope_index);
  for (ScopeNode& s : d.scopes)
    if (s.call_file != kNoFile) s.call_file = file_index(s.call_file);
  d.scope_index.build();
}

void DwarfIndex::drop_pages() {
  // The mapping's clean pages of parsed sections are dropped (re-read from
  // the page cache when touched again; a concurrent parse on the other
  // thread just faults them back in). Only sections read once per unit
  // are dropped; strings (names we print) and abbreviations stay.
  for (auto [off, len] : parse_once_) ::madvise(static_cast<char*>(image_) + off, len, MADV_DONTNEED);
}

std::uint64_t DwarfIndex::frames_at(std::uint64_t addr, bool inlines, std::vector<Frame>& out) {
  out.clear();
  std::uint32_t ui = unit_index_.find(addr);
  if (ui == IntervalIndex::kNone) return 0;
  UnitData* d = load(units_[ui]);
  return d ? frames_in(*d, addr, inlines, out) : 0;
}

std::uint64_t DwarfIndex::frames_at_parsed(std::uint64_t addr, bool inlines, std::vector<Frame>& out) const {
  out.clear();
  std::uint32_t ui = unit_index_.find(addr);
  if (ui == IntervalIndex::kNone || !units_[ui].data) return 0;
  return frames_in(*units_[ui].data, addr, inlines, out);
}

std::uint64_t DwarfIndex::frames_in(const UnitData& ud, std::uint64_t addr, bool inlines, std::vector<Frame>& out) {
  const UnitData* d = &ud;
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
  const ScopeNode* s = &d->scopes[si];
  inner.function = s->name;
  out.push_back(inner);
  if (!inlines) return !s->linkage && s->parent == IntervalIndex::kNone ? s->entry : 0;
  while (s->parent != IntervalIndex::kNone) {
    const ScopeNode* p = &d->scopes[s->parent];
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
