#include "dwarf_scopes.h"

#include <dwarf.h>

#include <algorithm>
#include <memory>

namespace xentt::sym::detail {

namespace {

class Walker {
 public:
  // `bodies`: not null for a walk of the top level only (read_functions).
  Walker(const DwarfSections& s, const UnitReader& u, std::span<const std::uint64_t> unit_starts,
         std::vector<ScopeNode>& scopes, IntervalIndex& index, std::vector<std::uint64_t>* bodies = nullptr)
      : s_(s), u_(u), starts_(unit_starts), scopes_(scopes), index_(index), bodies_(bodies) {}

  void run() {
    Cursor c = u_.cursor(u_.first_die());
    const Abbrev* cu = u_.next_die(c);
    if (!cu) return;
    u_.skip_attrs(c, *cu);
    if (cu->children) walk(c, IntervalIndex::kNone, 0, 0);
  }

  // The children of function `fn` starting at `body` (up to their null entry).
  void run_body(std::uint32_t fn, std::uint64_t body) {
    Cursor c = u_.cursor(body);
    walk(c, fn, 0, 1);
  }

 private:
  // Reads one sibling list (up to its null entry).
  void walk(Cursor& c, std::uint32_t parent, std::uint32_t depth, int level) {
    if (level > 256) {  // absurdly deep: corrupt, or not worth following
      u_.skip_children(c);
      return;
    }
    while (const Abbrev* a = u_.next_die(c)) {
      switch (a->tag) {
        case DW_TAG_subprogram:
        case DW_TAG_inlined_subroutine:
          // Declarations and abstract instances (no low_pc/ranges in the
          // abbreviation) are skipped without decoding an attribute.
          if (!a->has_code) {
            u_.skip_die(c, *a);
            break;
          }
          scope(c, *a, parent, depth, level);
          break;
        case DW_TAG_lexical_block:
        case DW_TAG_namespace:
        case DW_TAG_module:
          // Containers that may hold code-bearing scopes. Types are not
          // entered: GCC and Clang put member function definitions (the
          // DIEs with code) at namespace or unit level, pointing back at
          // the declaration in the class with DW_AT_specification.
          u_.skip_attrs(c, *a);
          if (a->children) walk(c, parent, depth, level + 1);
          break;
        default:  // types, variables, parameters: no code ranges of their own
          u_.skip_die(c, *a);
          break;
      }
    }
  }

  void scope(Cursor& c, const Abbrev& a, std::uint32_t parent, std::uint32_t depth, int level) {
    ScopeAttrs at;
    u_.read_scope_attrs(c, a, at);
    bool sub = a.tag == DW_TAG_subprogram;
    auto idx = static_cast<std::uint32_t>(scopes_.size());
    std::uint32_t sdepth = sub ? 0 : depth + 1;
    std::uint64_t entry = ~0ull;
    int n = u_.for_each_range(at, [&](std::uint64_t lo, std::uint64_t hi) {
      index_.add(lo, hi, idx, sdepth);
      entry = std::min(entry, lo);
    });
    if (n == 0) {
      if (a.children) u_.skip_children(c);
      return;
    }
    // A subprogram nested in another (GNU C nested functions) stands alone.
    ScopeNode s{{}, ScopeNode::kNoFile, 0, 0, sub ? IntervalIndex::kNone : parent, false, entry};
    name(at, s);
    if (!sub) {
      if (at.has_call_file) s.call_file = static_cast<std::uint32_t>(at.call_file.u);
      s.call_line = static_cast<std::uint32_t>(at.call_line.u);
      s.call_column = static_cast<std::uint32_t>(at.call_column.u);
    }
    scopes_.push_back(s);
    if (!bodies_) {
      if (a.children) walk(c, idx, sdepth, level + 1);
      return;
    }
    // Top level only: the body is read when a lookup lands in it.
    bodies_->push_back(a.children ? c.pos() : 0);
    if (!a.children) return;
    std::uint64_t next = at.has_sibling ? u_.reference(at.sibling) : 0;
    if (next > c.pos() && u_.contains(next))
      c.seek(next);
    else
      u_.skip_children(c);
  }

  // Linkage name first (what addr2line -f and llvm-symbolizer print,
  // mangled), then the plain name, each looked up along the
  // DW_AT_abstract_origin / DW_AT_specification chain (as libdw's
  // dwarf_attr_integrate does, up to 16 links).
  void name(const ScopeAttrs& first, ScopeNode& out) {
    std::string_view plain;
    ScopeAttrs at = first;
    const UnitReader* u = &u_;
    for (int hop = 0;; ++hop) {
      if (at.has_linkage) {
        if (std::string_view l = u->string(at.linkage); !l.empty()) {
          out.name = l;
          out.linkage = true;
          return;
        }
      }
      if (at.has_name && plain.empty()) plain = u->string(at.name);
      if (hop == 16 || !(at.has_origin || at.has_spec)) break;
      const FormValue& r = at.has_origin ? at.origin : at.specification;
      std::uint64_t ref = u->reference(r);
      u = unit_of(ref, u->in_sup(r));
      if (!u) break;
      Cursor c = u->cursor(ref);
      const Abbrev* a = u->next_die(c);
      if (!a) break;
      at = ScopeAttrs{};
      u->read_scope_attrs(c, *a, at);
    }
    out.name = plain;
  }

  // The unit holding a .debug_info offset: this one, or another one read
  // on demand (references across units come from LTO or dwz; rare); in
  // the supplementary file (dwz -m) when `sup`.
  const UnitReader* unit_of(std::uint64_t off, bool sup) {
    if (off == ~0ull) return nullptr;
    if (!sup && u_.contains(off)) return &u_;
    for (const auto& o : others_)
      if (o->is_sup() == sup && o->contains(off)) return o.get();
    if (sup && !s_.sup) return nullptr;
    std::span<const std::uint64_t> starts = sup ? std::span<const std::uint64_t>(s_.sup->starts) : starts_;
    auto it = std::upper_bound(starts.begin(), starts.end(), off);
    if (it == starts.begin() || others_.size() >= 16) return nullptr;
    others_.push_back(std::make_unique<UnitReader>(sup ? s_.sup->s : s_, *(it - 1)));
    return others_.back()->contains(off) ? others_.back().get() : nullptr;
  }

  const DwarfSections& s_;
  const UnitReader& u_;
  std::span<const std::uint64_t> starts_;
  std::vector<ScopeNode>& scopes_;
  IntervalIndex& index_;
  std::vector<std::uint64_t>* bodies_;
  std::vector<std::unique_ptr<UnitReader>> others_;
};

}  // namespace

void read_scopes(const DwarfSections& s, const UnitReader& u, std::span<const std::uint64_t> unit_starts,
                 std::vector<ScopeNode>& scopes, IntervalIndex& index) {
  Walker(s, u, unit_starts, scopes, index).run();
}

void read_functions(const DwarfSections& s, const UnitReader& u, std::span<const std::uint64_t> unit_starts,
                    std::vector<ScopeNode>& scopes, std::vector<std::uint64_t>& bodies, IntervalIndex& index) {
  Walker(s, u, unit_starts, scopes, index, &bodies).run();
}

void read_body(const DwarfSections& s, const UnitReader& u, std::span<const std::uint64_t> unit_starts,
               std::uint32_t fn, std::uint64_t body, std::vector<ScopeNode>& scopes, IntervalIndex& index) {
  Walker(s, u, unit_starts, scopes, index).run_body(fn, body);
}

}  // namespace xentt::sym::detail
