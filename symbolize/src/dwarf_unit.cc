#include "dwarf_unit.h"

#include <dwarf.h>

#include <algorithm>

namespace xentt::sym::detail {

namespace {

// GNU forms of split DWARF (DWARF 4 extensions), same encodings as strx/addrx.
constexpr std::uint32_t kGnuAddrIndex = 0x1f01, kGnuStrIndex = 0x1f02;
constexpr std::uint32_t kGnuRefAlt = 0x1f20, kGnuStrpAlt = 0x1f21;
// Abbreviations are kept in a table indexed by code; compilers number them
// from 1 up, so a larger code means a corrupt (or hostile) file.
constexpr std::uint64_t kMaxDenseCode = 1u << 16;

}  // namespace

UnitReader::UnitReader(const DwarfSections& s, std::uint64_t offset) : s_(s), begin_(offset) {
  Cursor c(s.info, ".debug_info", offset, s.big_endian);
  std::uint64_t len = c.initial_length(offset_size_);
  if (len > c.size() - c.pos()) c.fail("unit length runs past the end of .debug_info");
  end_ = c.pos() + len;
  c.limit(end_);
  version_ = c.u16();
  if (version_ < 2 || version_ > 5) c.fail("unsupported DWARF version");
  std::uint64_t abbrev_off;
  if (version_ >= 5) {
    std::uint8_t type = c.u8();
    addr_size_ = c.u8();
    abbrev_off = c.fixed(offset_size_);
    // Skeleton/split units carry an id, type units a signature and offset.
    if (type == DW_UT_skeleton || type == DW_UT_split_compile) c.skip(8);
    else if (type == DW_UT_type || type == DW_UT_split_type) c.skip(8 + offset_size_);
  } else {
    abbrev_off = c.fixed(offset_size_);
    addr_size_ = c.u8();
  }
  if (addr_size_ != 4 && addr_size_ != 8) c.fail("unsupported address size");
  first_die_ = c.pos();
  read_abbrevs(abbrev_off);
  read_unit_die();
}

void UnitReader::read_abbrevs(std::uint64_t off) {
  Cursor c(s_.abbrev, ".debug_abbrev", off, s_.big_endian);
  for (;;) {
    std::uint64_t code = c.uleb();
    if (code == 0) break;
    Abbrev a;
    a.tag = static_cast<std::uint32_t>(c.uleb());
    a.children = c.u8() == DW_CHILDREN_yes;
    a.first = static_cast<std::uint32_t>(specs_.size());
    std::int32_t fixed = 0;
    for (;;) {
      auto at = static_cast<std::uint32_t>(c.uleb());
      auto form = static_cast<std::uint32_t>(c.uleb());
      if (at == 0 && form == 0) break;
      std::int64_t implicit = form == DW_FORM_implicit_const ? c.sleb() : 0;
      if (form > 0xffff) c.fail("unknown attribute form");
      std::int32_t n = fixed_size(form);
      specs_.push_back({at, static_cast<std::uint16_t>(form), static_cast<std::int16_t>(n), implicit});
      if (at == DW_AT_low_pc || at == DW_AT_ranges) a.has_code = true;
      fixed = fixed < 0 || n < 0 ? -1 : fixed + n;
    }
    a.count = static_cast<std::uint32_t>(specs_.size()) - a.first;
    a.fixed = fixed;
    if (code >= kMaxDenseCode) c.fail("abbreviation code too large");
    if (abbrevs_.size() <= code) abbrevs_.resize(code + 1);
    abbrevs_[code] = a;
  }
}

std::int32_t UnitReader::fixed_size(std::uint32_t form) const noexcept {
  switch (form) {
    case DW_FORM_flag_present:
    case DW_FORM_implicit_const:
      return 0;
    case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1: case DW_FORM_addrx1:
      return 1;
    case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2:
      return 2;
    case DW_FORM_strx3: case DW_FORM_addrx3:
      return 3;
    case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_ref_sup4: case DW_FORM_strx4: case DW_FORM_addrx4:
      return 4;
    case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8: case DW_FORM_ref_sup8:
      return 8;
    case DW_FORM_data16:
      return 16;
    case DW_FORM_addr:
      return static_cast<std::int32_t>(addr_size_);
    case DW_FORM_ref_addr:
      return static_cast<std::int32_t>(version_ <= 2 ? addr_size_ : offset_size_);
    case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset: case DW_FORM_strp_sup:
    case kGnuRefAlt: case kGnuStrpAlt:
      return static_cast<std::int32_t>(offset_size_);
    default:
      return -1;
  }
}

FormValue UnitReader::read_form(Cursor& c, std::uint32_t form, std::int64_t implicit) const {
  FormValue v;
  v.form = form;
  if (std::int32_t n = fixed_size(form); n >= 0) {
    if (form == DW_FORM_implicit_const) v.u = static_cast<std::uint64_t>(implicit);
    else if (form == DW_FORM_flag_present) v.u = 1;
    else if (n <= 8) v.u = c.fixed(static_cast<unsigned>(n));
    else c.skip(static_cast<unsigned>(n));  // data16: not a value we use
    return v;
  }
  switch (form) {
    case DW_FORM_udata: case DW_FORM_ref_udata: case DW_FORM_strx: case DW_FORM_addrx:
    case DW_FORM_loclistx: case DW_FORM_rnglistx: case kGnuAddrIndex: case kGnuStrIndex:
      v.u = c.uleb();
      break;
    case DW_FORM_sdata:
      v.u = static_cast<std::uint64_t>(c.sleb());
      break;
    case DW_FORM_string:
      v.str = c.cstr();
      break;
    case DW_FORM_block1: c.skip(c.u8()); break;
    case DW_FORM_block2: c.skip(c.u16()); break;
    case DW_FORM_block4: c.skip(c.u32()); break;
    case DW_FORM_block: case DW_FORM_exprloc: c.skip(c.uleb()); break;
    case DW_FORM_indirect: {
      auto f = static_cast<std::uint32_t>(c.uleb());
      if (f == DW_FORM_indirect || f == DW_FORM_implicit_const) c.fail("bad indirect form");
      return read_form(c, f, 0);
    }
    default:
      c.fail("unknown attribute form");
  }
  return v;
}

void UnitReader::skip_form(Cursor& c, std::uint32_t form) const {
  if (std::int32_t n = fixed_size(form); n >= 0) {
    c.skip(static_cast<unsigned>(n));
    return;
  }
  read_form(c, form, 0);
}

Cursor UnitReader::cursor(std::uint64_t at) const {
  Cursor c(s_.info, ".debug_info", 0, s_.big_endian);
  c.limit(end_);
  c.seek(at);
  return c;
}

const Abbrev* UnitReader::next_die(Cursor& c) const {
  std::uint64_t code = c.uleb();
  if (code == 0) return nullptr;
  if (code >= abbrevs_.size() || abbrevs_[code].tag == 0) c.fail("unknown abbreviation code");
  return &abbrevs_[code];
}

void UnitReader::skip_attrs(Cursor& c, const Abbrev& a) const {
  if (a.fixed >= 0) {
    c.skip(static_cast<unsigned>(a.fixed));
    return;
  }
  for (std::uint32_t i = a.first; i < a.first + a.count; ++i) {
    const AttrSpec& sp = specs_[i];
    if (sp.size >= 0)
      c.skip(static_cast<unsigned>(sp.size));
    else
      read_form(c, sp.form, 0);
  }
}

void UnitReader::skip_die(Cursor& c, const Abbrev& a) const {
  if (!a.children) {
    skip_attrs(c, a);
    return;
  }
  std::uint64_t sibling = 0;
  for (std::uint32_t i = a.first; i < a.first + a.count; ++i) {
    const AttrSpec& sp = specs_[i];
    if (sp.at == DW_AT_sibling) {
      FormValue v = read_form(c, sp.form, sp.implicit);
      if (sp.form != DW_FORM_ref_addr) sibling = begin_ + v.u;
      else sibling = v.u;
    } else {
      skip_form(c, sp.form);
    }
  }
  if (sibling > c.pos()) {
    c.seek(sibling);
    return;
  }
  skip_children(c);
}

void UnitReader::skip_children(Cursor& c) const {
  // Iterative, so corrupt (deep) trees cannot overflow the stack; each
  // step consumes input, so it ends.
  std::uint64_t depth = 1;
  while (depth > 0) {
    const Abbrev* ch = next_die(c);
    if (!ch) {
      --depth;
      continue;
    }
    skip_attrs(c, *ch);
    if (ch->children) ++depth;
  }
}

void UnitReader::read_scope_attrs(Cursor& c, const Abbrev& a, ScopeAttrs& out) const {
  for (std::uint32_t i = a.first; i < a.first + a.count; ++i) {
    const AttrSpec& sp = specs_[i];
    FormValue* dst = nullptr;
    bool* has = nullptr;
    switch (sp.at) {
      case DW_AT_low_pc: dst = &out.low_pc; has = &out.has_low; break;
      case DW_AT_high_pc: dst = &out.high_pc; has = &out.has_high; break;
      case DW_AT_ranges: dst = &out.ranges; has = &out.has_ranges; break;
      case DW_AT_name: dst = &out.name; has = &out.has_name; break;
      case DW_AT_linkage_name: case DW_AT_MIPS_linkage_name: dst = &out.linkage; has = &out.has_linkage; break;
      case DW_AT_abstract_origin: dst = &out.origin; has = &out.has_origin; break;
      case DW_AT_specification: dst = &out.specification; has = &out.has_spec; break;
      case DW_AT_call_file: dst = &out.call_file; has = &out.has_call_file; break;
      case DW_AT_call_line: dst = &out.call_line; break;
      case DW_AT_call_column: dst = &out.call_column; break;
      case DW_AT_sibling: dst = &out.sibling; has = &out.has_sibling; break;
      default: break;
    }
    if (!dst) {
      if (sp.size >= 0)
        c.skip(static_cast<unsigned>(sp.size));
      else
        read_form(c, sp.form, 0);
      continue;
    }
    *dst = read_form(c, sp.form, sp.implicit);
    if (has) *has = true;
  }
}

void UnitReader::read_unit_die() {
  Cursor c = cursor(first_die_);
  const Abbrev* a = next_die(c);
  if (!a) c.fail("empty unit");
  FormValue stmt, dir, name, low, str_base, addr_base, rng_base;
  bool has_dir = false, has_name = false, has_low = false, has_str = false, has_addr = false;
  for (std::uint32_t i = a->first; i < a->first + a->count; ++i) {
    const AttrSpec& sp = specs_[i];
    FormValue v = read_form(c, sp.form, sp.implicit);
    switch (sp.at) {
      case DW_AT_stmt_list: stmt = v; has_stmt_list_ = true; break;
      case DW_AT_comp_dir: dir = v; has_dir = true; break;
      case DW_AT_name: name = v; has_name = true; break;
      case DW_AT_low_pc: low = v; has_low = true; break;
      case DW_AT_str_offsets_base: str_base = v; has_str = true; break;
      case DW_AT_addr_base: case DW_AT_GNU_addr_base: addr_base = v; has_addr = true; break;
      case DW_AT_rnglists_base: rng_base = v; has_rnglists_base_ = true; break;
      default: break;
    }
  }
  // The bases first: the unit's own strx/addrx forms need them.
  if (has_str) str_offsets_base_ = str_base.u;
  else if (version_ >= 5) str_offsets_base_ = offset_size_ == 8 ? 16 : 8;  // past the first table's header
  if (has_addr) addr_base_ = addr_base.u;
  if (has_rnglists_base_) rnglists_base_ = rng_base.u;
  stmt_list_ = stmt.u;
  if (has_dir) comp_dir_ = string(dir);
  if (has_name) name_ = string(name);
  if (has_low) base_ = address(low);
}

std::string_view UnitReader::string(const FormValue& v) const {
  switch (v.form) {
    case DW_FORM_string:
      return v.str;
    case DW_FORM_strp:
      return string_at(s_.str, v.u);
    case DW_FORM_line_strp:
      return string_at(s_.line_str, v.u);
    case DW_FORM_strx: case DW_FORM_strx1: case DW_FORM_strx2: case DW_FORM_strx3: case DW_FORM_strx4:
    case kGnuStrIndex: {
      std::uint64_t at = str_offsets_base_ + v.u * offset_size_;
      if (v.u > s_.str_offsets.size / offset_size_ || at + offset_size_ > s_.str_offsets.size) return {};
      Cursor c(s_.str_offsets, ".debug_str_offsets", at, s_.big_endian);
      return string_at(s_.str, c.fixed(offset_size_));
    }
    case kGnuStrpAlt:
    case DW_FORM_strp_sup:
      // dwz's supplementary file, when found.
      return s_.sup ? string_at(s_.sup->s.str, v.u) : std::string_view{};
    default:
      return {};
  }
}

bool UnitReader::is_address_form(std::uint32_t form) noexcept {
  switch (form) {
    case DW_FORM_addr: case DW_FORM_addrx: case DW_FORM_addrx1: case DW_FORM_addrx2: case DW_FORM_addrx3:
    case DW_FORM_addrx4: case kGnuAddrIndex:
      return true;
    default:
      return false;
  }
}

std::uint64_t UnitReader::address(const FormValue& v) const {
  if (v.form == DW_FORM_addr || !is_address_form(v.form)) return v.u;
  std::uint64_t at = addr_base_ + v.u * addr_size_;
  if (v.u > s_.addr.size / addr_size_ || at + addr_size_ > s_.addr.size) return 0;
  Cursor c(s_.addr, ".debug_addr", at, s_.big_endian);
  return c.fixed(addr_size_);
}

bool UnitReader::in_sup(const FormValue& v) const noexcept {
  return s_.is_sup || v.form == kGnuRefAlt || v.form == DW_FORM_ref_sup4 || v.form == DW_FORM_ref_sup8;
}

std::uint64_t UnitReader::reference(const FormValue& v) const {
  switch (v.form) {
    case DW_FORM_ref_addr:
      return v.u;
    case kGnuRefAlt: case DW_FORM_ref_sup4: case DW_FORM_ref_sup8:
      return s_.sup ? v.u : ~0ull;  // an offset in the supplementary file's .debug_info
    case DW_FORM_ref1: case DW_FORM_ref2: case DW_FORM_ref4: case DW_FORM_ref8: case DW_FORM_ref_udata:
      return begin_ + v.u;
    default:
      return ~0ull;  // type signatures: not followed
  }
}

void UnitReader::read_ranges(const FormValue& v, std::vector<std::pair<std::uint64_t, std::uint64_t>>& out) const {
  std::uint64_t base = base_;
  if (version_ < 5) {
    // .debug_ranges: (begin, end) pairs relative to the base; (max, addr)
    // selects a new base; (0, 0) ends the list.
    Cursor c(s_.ranges, ".debug_ranges", v.u, s_.big_endian);
    std::uint64_t max = addr_size_ == 8 ? ~0ull : 0xffffffffull;
    for (;;) {
      std::uint64_t b = c.fixed(addr_size_), e = c.fixed(addr_size_);
      if (b == 0 && e == 0) break;
      if (b == max) {
        base = e;
        continue;
      }
      out.push_back({base + b, base + e});
    }
    return;
  }
  std::uint64_t off = v.u;
  if (v.form == DW_FORM_rnglistx) {
    // An index into the offset table at DW_AT_rnglists_base (offsets are
    // relative to that base).
    std::uint64_t at = rnglists_base_ + v.u * offset_size_;
    if (v.u > s_.rnglists.size / offset_size_)
      throw Corrupt{".debug_rnglists", rnglists_base_, "range list index out of range"};
    Cursor t(s_.rnglists, ".debug_rnglists", at, s_.big_endian);
    off = rnglists_base_ + t.fixed(offset_size_);
  }
  Cursor c(s_.rnglists, ".debug_rnglists", off, s_.big_endian);
  auto addrx = [&](std::uint64_t i) { return address(FormValue{DW_FORM_addrx, i, {}}); };
  for (;;) {
    std::uint8_t kind = c.u8();
    switch (kind) {
      case DW_RLE_end_of_list:
        return;
      case DW_RLE_base_addressx:
        base = addrx(c.uleb());
        break;
      case DW_RLE_startx_endx: {
        std::uint64_t b = addrx(c.uleb());
        out.push_back({b, addrx(c.uleb())});
        break;
      }
      case DW_RLE_startx_length: {
        std::uint64_t b = addrx(c.uleb());
        out.push_back({b, b + c.uleb()});
        break;
      }
      case DW_RLE_offset_pair: {
        std::uint64_t b = c.uleb();
        out.push_back({base + b, base + c.uleb()});
        break;
      }
      case DW_RLE_base_address:
        base = c.fixed(addr_size_);
        break;
      case DW_RLE_start_end: {
        std::uint64_t b = c.fixed(addr_size_);
        out.push_back({b, c.fixed(addr_size_)});
        break;
      }
      case DW_RLE_start_length: {
        std::uint64_t b = c.fixed(addr_size_);
        out.push_back({b, b + c.uleb()});
        break;
      }
      default:
        c.fail("unknown range list entry");
    }
  }
}

}  // namespace xentt::sym::detail
