// dwarf_unit.h (internal): one compile unit of .debug_info, read directly.
//
// UnitReader parses a unit's header, its abbreviation table and its unit
// DIE's attributes (line table offset, comp dir, the bases that indexed
// forms need), then reads DIEs on demand. Forms of DWARF 2 to 5 are
// decoded; DIEs whose attributes all have fixed sizes (most type DIEs) are
// skipped with one addition. Constructing one costs a pass over the unit's
// abbreviations (~10 us for a kernel unit); reading a DIE, a few ns per
// attribute. Throws Corrupt on malformed data.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dwarf_sections.h"

namespace xentt::sym::detail {

struct AttrSpec {
  std::uint32_t at;
  std::uint16_t form;
  std::int16_t size;      // bytes when fixed for this unit, else -1
  std::int64_t implicit;  // DW_FORM_implicit_const's value
};

struct Abbrev {
  std::uint32_t tag = 0;
  bool children = false;
  bool has_code = false;       // DW_AT_low_pc or DW_AT_ranges: the DIE may own code
  std::int32_t fixed = -1;     // size of the attributes when every form is fixed-size, else -1
  std::uint32_t first = 0;     // its attributes: AbbrevTable specs [first, first + count)
  std::uint32_t count = 0;
};

// A decoded attribute value: `u` holds constants, addresses (or address
// indexes), offsets and references (as read); `str` inline strings.
struct FormValue {
  std::uint32_t form = 0;
  std::uint64_t u = 0;
  std::string_view str;
};

// The attributes of a scope DIE (subprogram, inlined subroutine) and of
// the DIEs its name comes from.
struct ScopeAttrs {
  FormValue low_pc, high_pc, ranges;
  FormValue name, linkage, origin, specification;
  FormValue call_file, call_line, call_column;
  FormValue sibling;
  bool has_low = false, has_high = false, has_ranges = false;
  bool has_name = false, has_linkage = false, has_origin = false, has_spec = false;
  bool has_call_file = false, has_sibling = false;
};

class UnitReader {
 public:
  // `offset`: the unit header's offset in .debug_info.
  UnitReader(const DwarfSections& s, std::uint64_t offset);

  std::uint64_t offset() const noexcept { return begin_; }
  std::uint64_t end() const noexcept { return end_; }
  std::uint64_t first_die() const noexcept { return first_die_; }
  unsigned version() const noexcept { return version_; }
  bool contains(std::uint64_t info_off) const noexcept { return info_off >= first_die_ && info_off < end_; }

  // The unit DIE's attributes.
  bool has_stmt_list() const noexcept { return has_stmt_list_; }
  std::uint64_t stmt_list() const noexcept { return stmt_list_; }
  std::string_view comp_dir() const noexcept { return comp_dir_; }
  std::string_view unit_name() const noexcept { return name_; }

  // A cursor over this unit's DIEs (.debug_info limited to the unit).
  Cursor cursor(std::uint64_t at) const;
  // Reads a DIE's abbreviation code; nullptr for a null entry (end of a
  // sibling list). Throws Corrupt for an unknown code.
  const Abbrev* next_die(Cursor& c) const;
  // Skips a DIE's attributes (children, if any, follow).
  void skip_attrs(Cursor& c, const Abbrev& a) const;
  // Skips a DIE's attributes and its whole subtree (through DW_AT_sibling
  // when present, else DIE by DIE).
  void skip_die(Cursor& c, const Abbrev& a) const;
  // Skips the children of a DIE whose attributes were read (up to and
  // including the null entry that ends them), DIE by DIE.
  void skip_children(Cursor& c) const;
  // Reads the attributes a scope needs, skipping the rest.
  void read_scope_attrs(Cursor& c, const Abbrev& a, ScopeAttrs& out) const;

  // Value helpers.
  std::string_view string(const FormValue& v) const;  // strp, line_strp, strx*, string
  std::uint64_t address(const FormValue& v) const;     // addr, addrx*
  // A reference's absolute .debug_info offset (~0: not followed), in this
  // unit's file or, when in_sup(v), in the supplementary file.
  std::uint64_t reference(const FormValue& v) const;
  // Whether reference `v` points into the supplementary file: a GNU_ref_alt
  // or ref_sup form, or any reference made inside the supplementary file.
  bool in_sup(const FormValue& v) const noexcept;
  // Whether this unit is in a supplementary file.
  bool is_sup() const noexcept { return s_.is_sup; }
  // Calls f(lo, hi) for each [lo, hi) of the DIE's code (low/high pc or
  // ranges); returns how many non-empty ranges.
  template <class F>
  int for_each_range(const ScopeAttrs& a, F&& f) const {
    int n = 0;
    if (a.has_ranges) {
      std::vector<std::pair<std::uint64_t, std::uint64_t>>& r = range_buf_;
      r.clear();
      read_ranges(a.ranges, r);
      for (auto [lo, hi] : r)
        if (lo < hi) f(lo, hi), ++n;
    } else if (a.has_low && a.has_high) {
      std::uint64_t lo = address(a.low_pc);
      std::uint64_t hi = is_address_form(a.high_pc.form) ? address(a.high_pc) : lo + a.high_pc.u;
      if (lo < hi) f(lo, hi), ++n;
    }
    return n;
  }

  static bool is_address_form(std::uint32_t form) noexcept;
  unsigned address_size() const noexcept { return addr_size_; }
  unsigned offset_size() const noexcept { return offset_size_; }

  // One value of `form` (also for the line table header's entry formats).
  FormValue read_form(Cursor& c, std::uint32_t form, std::int64_t implicit) const;
  void skip_form(Cursor& c, std::uint32_t form) const;

 private:
  std::int32_t fixed_size(std::uint32_t form) const noexcept;  // -1 when variable
  void read_abbrevs(std::uint64_t off);
  void read_unit_die();
  void read_ranges(const FormValue& v, std::vector<std::pair<std::uint64_t, std::uint64_t>>& out) const;

  const DwarfSections& s_;
  std::uint64_t begin_ = 0, end_ = 0, first_die_ = 0;
  unsigned version_ = 0, addr_size_ = 8, offset_size_ = 4;
  std::vector<Abbrev> abbrevs_;  // by code (tag 0: no such code)
  std::vector<AttrSpec> specs_;
  bool has_stmt_list_ = false;
  std::uint64_t stmt_list_ = 0;
  std::string_view comp_dir_, name_;
  std::uint64_t base_ = 0;  // the unit's DW_AT_low_pc: base of range lists
  std::uint64_t str_offsets_base_ = 0, addr_base_ = 0, rnglists_base_ = 0;
  bool has_rnglists_base_ = false;
  mutable std::vector<std::pair<std::uint64_t, std::uint64_t>> range_buf_;
};

}  // namespace xentt::sym::detail
