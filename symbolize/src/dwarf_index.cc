#include "dwarf_index.h"

#include <dwarf.h>
#include <gelf.h>
#include <sys/mman.h>
#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "demangle.h"
#include "xentt/base/error.h"

namespace xentt::sym::detail {

std::unique_ptr<DwarfIndex> DwarfIndex::open(Elf* elf, const std::string& path, void* image, std::size_t image_len,
                                             bool mapped, bool demangle, const SupSections* sup) {
  Dwarf* dw = dwarf_begin_elf(elf, DWARF_C_READ, nullptr);
  if (!dw) return nullptr;  // no .debug_info: symbols only
  std::unique_ptr<DwarfIndex> ix(new DwarfIndex(path));
  // After dwarf_begin_elf: compressed sections are decompressed in place.
  ix->sections_ = find_dwarf_sections(elf);
  ix->sections_.sup = sup;
  ix->demangle_ = demangle;
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
      if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
        continue;
      std::string_view n = name;
      if (n == ".debug_info" || n == ".debug_line" || n == ".debug_rnglists" || n == ".debug_ranges" ||
          n == ".debug_loclists" || n == ".debug_loc") {
        // Only what is read in place: a compressed section was decompressed
        // (dwarf_begin_elf) into memory of its own, its header now giving
        // the decompressed size, so its bytes are not at sh_offset.
        Elf_Data* d = elf_getdata(scn, nullptr);
        auto* base = static_cast<const char*>(image);
        auto* at = d ? static_cast<const char*>(d->d_buf) : nullptr;
        if (!at || at < base || at + d->d_size > base + image_len) continue;
        std::uint64_t off = static_cast<std::uint64_t>(at - base);
        // Whole pages inside the section only (neighbours are not ours to drop).
        std::uint64_t b = (off + 4095) & ~4095ull, e = (off + d->d_size) & ~4095ull;
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
    if (unit_type == DW_UT_skeleton && ix->warning_.empty())
      ix->warning_ = path + ": split DWARF (-gsplit-dwarf: .dwo/.dwp files) is not read: its units answer from the "
                            "symbol table only";
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
  // The work: (unit, address) for each address whose unit is not parsed,
  // or whose lookup needs a function body not read yet. Traces repeat
  // addresses: a small direct-mapped table skips most repeats.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> work;
  std::vector<std::uint64_t> recent(4096, ~0ull);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t a = addrs[i];
    std::uint64_t& r = recent[(a * 0x9E3779B97F4A7C15ull) >> 52];
    if (r == a) continue;
    r = a;
    std::uint32_t ui = unit_index_.find(a);
    if (ui == IntervalIndex::kNone || units_[ui].failed) continue;
    if (units_[ui].data && !units_[ui].data->needs_scopes(a)) continue;
    work.push_back({ui, a});
  }
  std::sort(work.begin(), work.end());
  std::vector<std::pair<std::size_t, std::size_t>> groups;  // [begin, end) in work: one unit each
  for (std::size_t i = 0; i < work.size();) {
    std::size_t j = i;
    while (j < work.size() && work[j].first == work[i].first) ++j;
    groups.push_back({i, j});
    i = j;
  }
  // Each unit is one thread's: it parses the unit if needed, then reads
  // the bodies its addresses need. The threads take the next unit as they
  // finish one (units differ a hundredfold in size), so they write
  // distinct Unit slots; join() publishes the helper's.
  std::atomic<std::size_t> next{0};
  auto run = [&](std::string& warning, Scratch& scratch) {
    for (std::size_t g; (g = next.fetch_add(1, std::memory_order_relaxed)) < groups.size();) {
      auto [b, e] = groups[g];
      Unit& u = units_[work[b].first];
      bool parsed = u.data != nullptr;
      if (!load_with(u, warning, scratch)) continue;
      for (std::size_t i = b; i < e && u.data; ++i) read_scopes_for(u, work[i].second, warning, scratch);
      if (parsed) count_unit_read();  // bodies only (load_with counted the others)
    }
  };
  // A thread costs ~50 us; below a few units it is not worth it.
  if (threads < 2 || groups.size() < 4) {
    run(warning_, scratch_);
  } else {
    std::string aux_warning;
    std::thread helper([&] {
      Scratch scratch;
      run(aux_warning, scratch);
    });
    run(warning_, scratch_);
    helper.join();
    if (warning_.empty()) warning_ = std::move(aux_warning);
  }
  // Function bodies read since the last drop brought pages back.
  if (drop_pages_ && !work.empty()) drop_pages();
}

DwarfIndex::UnitData* DwarfIndex::load_with(Unit& u, std::string& warning, Scratch& scratch) {
  if (u.data) return u.data.get();
  if (u.failed) return nullptr;
  auto d = std::make_unique<UnitData>();
  try {
    parse(u, *d, scratch);
  } catch (const Corrupt& e) {
    fail(u, e, warning);
    return nullptr;
  }
  u.data = std::move(d);
  count_unit_read();
  return u.data.get();
}

void DwarfIndex::fail(Unit& u, const Corrupt& e, std::string& warning) const {
  // The whole unit answers nothing rather than half answers.
  u.data.reset();
  u.failed = true;
  warning = fmt::format("{}: corrupt DWARF in the compile unit at .debug_info offset {:#x}: {} at {} offset {:#x}",
                        path_, u.offset, e.what, e.section, e.offset);
}

std::uint32_t DwarfIndex::UnitData::file_index(std::uint32_t f) {
  if (f >= line_files.size()) return kNoFile;
  if (file_slot[f] != kNoFile) return file_slot[f];
  const LineFile& lf = line_files[f];
  if (lf.name.empty()) return kNoFile;
  std::string full(lf.name);
  if (full[0] != '/' && !lf.dir.empty()) full = std::string(lf.dir) + "/" + full;
  if (full[0] != '/' && !comp_dir.empty()) full = std::string(comp_dir) + "/" + full;
  strings.push_back(std::make_unique<std::string>(std::move(full)));
  file_slot[f] = static_cast<std::uint32_t>(files.size());
  files.push_back(*strings.back());
  return file_slot[f];
}

void DwarfIndex::UnitData::demangle_from(std::size_t first) {
  for (std::size_t i = first; i < scopes.size(); ++i) {
    ScopeNode& s = scopes[i];
    if (!s.linkage || !maybe_mangled(s.name)) continue;
    auto [it, fresh] = demangled.try_emplace(s.name.data(), s.name);
    if (fresh) {
      if (auto d = demangle_name(s.name)) {
        strings.push_back(std::make_unique<std::string>(std::move(*d)));
        it->second = *strings.back();
      }
    }
    s.name = it->second;
  }
}

bool DwarfIndex::UnitData::needs_scopes(std::uint64_t addr) const {
  if (whole) return false;
  std::uint32_t fn = scope_index.find(addr);
  if (fn == IntervalIndex::kNone) return any_body;
  return fn < bodies.size() && bodies[fn] && !body_index[fn];
}

void DwarfIndex::read_scopes_for(Unit& u, std::uint64_t addr, std::string& warning, Scratch& scratch) {
  UnitData& d = *u.data;
  if (!d.needs_scopes(addr)) return;
  try {
    const UnitReader& ur = scratch.reader(sections_, u.offset);
    std::size_t first;
    std::uint32_t fn = d.scope_index.find(addr);
    if (fn == IntervalIndex::kNone) {
      // Outside every function: a function nested in another one's body
      // (GNU C) may hold it. Every scope is read, once.
      d.scopes.clear();
      d.bodies.clear();
      d.body_index.clear();
      d.scope_index = IntervalIndex();
      read_scopes(sections_, ur, starts_, d.scopes, d.scope_index);
      d.whole = true;
      first = 0;
    } else {
      d.body_index[fn] = std::make_unique<IntervalIndex>();
      first = d.scopes.size();
      read_body(sections_, ur, starts_, fn, d.bodies[fn], d.scopes, *d.body_index[fn]);
    }
    for (std::size_t i = first; i < d.scopes.size(); ++i)
      if (d.scopes[i].call_file != kNoFile) d.scopes[i].call_file = d.file_index(d.scopes[i].call_file);
    if (demangle_) d.demangle_from(first);
    if (d.whole)
      d.scope_index.build();
    else
      d.body_index[fn]->build();
  } catch (const Corrupt& e) {
    fail(u, e, warning);
  }
}

void DwarfIndex::parse(Unit& u, UnitData& d, Scratch& scratch) {
  const UnitReader& ur = scratch.reader(sections_, u.offset);
  LineTable& lt = scratch.lines;
  lt.rows.clear();
  lt.files.clear();
  if (ur.has_stmt_list()) read_line_table(sections_, ur, ur.stmt_list(), lt);

  // File names are materialized for the files rows and call sites use.
  d.line_files = lt.files;
  d.file_slot.assign(lt.files.size(), kNoFile);
  d.comp_dir = ur.comp_dir();

  sort_line_rows(lt.rows, scratch.sorted, scratch.orig);

  // Addresses and row data apart: the search touches 8 bytes a row, and
  // a row costs 12 + 8 + 1 bytes (the bucket table, 4 rows a bucket).
  std::size_t n = lt.rows.size();
  d.rows.resize(n);
  d.row_addr.vec().resize(n);
  std::uint32_t last_in = kNoFile, last_out = kNoFile;
  for (std::size_t i = 0; i < n; ++i) {
    auto [a, r] = lt.rows[i];
    if (r.file != last_in) last_in = r.file, last_out = d.file_index(r.file);  // consecutive rows share their file
    r.file = last_out;
    d.row_addr.vec()[i] = a;
    d.rows[i] = r;
  }
  d.row_addr.build(4);

  // Functions only; their bodies are read when a lookup lands in them
  // (read_scopes_for), which most of a unit's functions never see.
  read_functions(sections_, ur, starts_, d.scopes, d.bodies, d.scope_index);
  if (demangle_) d.demangle_from(0);
  d.body_index.resize(d.bodies.size());
  d.any_body = std::any_of(d.bodies.begin(), d.bodies.end(), [](std::uint64_t b) { return b != 0; });
  d.scope_index.build();
}

void DwarfIndex::count_unit_read() {
  if (drop_pages_ && (reads_.fetch_add(1, std::memory_order_relaxed) + 1) % kDropEvery == 0) drop_pages();
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
  Unit& u = units_[ui];
  if (!load(u)) return 0;
  read_scopes_for(u, addr, warning_, scratch_);
  return u.data ? frames_in(*u.data, addr, inlines, out) : 0;
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
  // In a function whose body has been read: the innermost scope there.
  if (si < d->body_index.size() && d->body_index[si]) {
    if (std::uint32_t in = d->body_index[si]->find(addr); in != IntervalIndex::kNone) si = in;
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

}  // namespace xentt::sym::detail
