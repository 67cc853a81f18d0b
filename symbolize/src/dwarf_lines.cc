#include "dwarf_lines.h"

#include <dwarf.h>

#include <algorithm>

namespace xentt::sym::detail {

namespace {

// DWARF 5 directory and file tables: a list of (content type, form) pairs
// describing each entry, then the entries.
struct EntryFormat {
  std::uint64_t type;
  std::uint32_t form;
};

std::vector<EntryFormat> read_entry_formats(Cursor& c) {
  std::vector<EntryFormat> f(c.u8());
  for (auto& e : f) {
    e.type = c.uleb();
    e.form = static_cast<std::uint32_t>(c.uleb());
  }
  return f;
}

// Reads `count` entries; returns (directory index, path) of each.
template <class F>
void read_entries(Cursor& c, const UnitReader& u, const std::vector<EntryFormat>& formats, F&& each) {
  std::uint64_t n = c.uleb();
  if (n > c.size() - c.pos()) c.fail("entry count larger than the table");
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string_view path;
    std::uint64_t dir = 0;
    for (const EntryFormat& ef : formats) {
      if (ef.form == DW_FORM_implicit_const || ef.form == DW_FORM_indirect) c.fail("bad form in line table header");
      FormValue v = u.read_form(c, ef.form, 0);
      if (ef.type == DW_LNCT_path) path = u.string(v);
      else if (ef.type == DW_LNCT_directory_index) dir = v.u;
    }
    each(dir, path);
  }
}

}  // namespace

void read_line_table(const DwarfSections& s, const UnitReader& u, std::uint64_t offset, LineTable& out) {
  out.rows.clear();
  out.files.clear();
  Cursor c(s.line, ".debug_line", offset, s.big_endian);
  unsigned offset_size;
  std::uint64_t len = c.initial_length(offset_size);
  if (len > c.size() - c.pos()) c.fail("line table length runs past the end of .debug_line");
  c.limit(c.pos() + len);
  unsigned version = c.u16();
  if (version < 2 || version > 5) c.fail("unsupported line table version");
  unsigned addr_size = u.address_size();
  if (version >= 5) {
    addr_size = c.u8();
    c.u8();  // segment selector size
    if (addr_size != 4 && addr_size != 8) c.fail("unsupported address size");
  }
  std::uint64_t header_len = c.fixed(offset_size);
  std::uint64_t program = c.pos() + header_len;
  unsigned min_inst = c.u8();
  unsigned max_ops = version >= 4 ? c.u8() : 1;
  if (max_ops == 0) c.fail("maximum operations per instruction is 0");
  bool default_stmt = c.u8() != 0;
  (void)default_stmt;  // is_stmt is not kept: addr2line and llvm-symbolizer use every row
  auto line_base = static_cast<std::int8_t>(c.u8());
  unsigned line_range = c.u8();
  if (line_range == 0) c.fail("line range is 0");
  unsigned opcode_base = c.u8();
  std::uint8_t std_len[256] = {};
  for (unsigned i = 1; i < opcode_base; ++i) std_len[i] = c.u8();

  std::vector<std::string_view> dirs;
  if (version >= 5) {
    auto dfmt = read_entry_formats(c);
    read_entries(c, u, dfmt, [&](std::uint64_t, std::string_view p) { dirs.push_back(p); });
    auto ffmt = read_entry_formats(c);
    read_entries(c, u, ffmt, [&](std::uint64_t d, std::string_view p) {
      out.files.push_back({d < dirs.size() ? dirs[d] : std::string_view(), p});
    });
  } else {
    // Directory 0 is the unit's comp dir; file 0 does not exist (numbering
    // starts at 1), kept as a placeholder so indexes match the program's.
    dirs.push_back(u.comp_dir());
    for (std::string_view d; !(d = c.cstr()).empty();) dirs.push_back(d);
    out.files.push_back({});
    for (std::string_view f; !(f = c.cstr()).empty();) {
      std::uint64_t d = c.uleb();
      c.uleb();  // modification time
      c.uleb();  // length
      out.files.push_back({d < dirs.size() ? dirs[d] : std::string_view(), f});
    }
  }
  c.seek(program);

  // The state machine (DWARF 5 section 6.2.2). op_index matters only for
  // VLIW targets (max_ops > 1).
  std::uint64_t addr = 0, op_index = 0;
  std::uint64_t file = 1;
  std::int64_t line = 1;
  std::uint64_t column = 0;
  auto advance = [&](std::uint64_t ops) {
    if (max_ops == 1) {
      addr += min_inst * ops;
    } else {
      addr += min_inst * ((op_index + ops) / max_ops);
      op_index = (op_index + ops) % max_ops;
    }
  };
  auto emit = [&](bool end) {
    out.rows.push_back({addr, LineRow{static_cast<std::uint32_t>(file), static_cast<std::uint32_t>(line),
                                      static_cast<std::uint32_t>(column) & 0x7fffffffu, end ? 1u : 0u}});
  };
  auto reset = [&] {
    addr = op_index = 0;
    file = 1;
    line = 1;
    column = 0;
  };
  while (!c.at_end()) {
    unsigned op = c.u8();
    if (op >= opcode_base) {
      unsigned adj = op - opcode_base;
      advance(adj / line_range);
      line += line_base + static_cast<int>(adj % line_range);
      emit(false);
      continue;
    }
    switch (op) {
      case 0: {  // extended opcode
        std::uint64_t n = c.uleb();
        if (n == 0) break;
        std::uint64_t next = c.pos() + n;
        if (n > c.size() - c.pos()) c.fail("extended opcode runs past the end of the line table");
        switch (c.u8()) {
          case DW_LNE_end_sequence:
            emit(true);
            reset();
            break;
          case DW_LNE_set_address:
            if (n - 1 != 4 && n - 1 != 8) c.fail("bad DW_LNE_set_address length");
            addr = c.fixed(static_cast<unsigned>(n - 1));
            op_index = 0;
            break;
          case DW_LNE_define_file: {
            std::string_view f = c.cstr();
            std::uint64_t d = c.uleb();
            out.files.push_back({d < dirs.size() ? dirs[d] : std::string_view(), f});
            break;
          }
          default:
            break;  // set_discriminator, vendor extensions: skipped by length
        }
        c.seek(next);
        break;
      }
      case DW_LNS_copy:
        emit(false);
        break;
      case DW_LNS_advance_pc:
        advance(c.uleb());
        break;
      case DW_LNS_advance_line:
        line += c.sleb();
        break;
      case DW_LNS_set_file:
        file = c.uleb();
        break;
      case DW_LNS_set_column:
        column = c.uleb();
        break;
      case DW_LNS_const_add_pc:
        advance((255 - opcode_base) / line_range);
        break;
      case DW_LNS_fixed_advance_pc:
        addr += c.u16();
        op_index = 0;
        break;
      case DW_LNS_negate_stmt:
      case DW_LNS_set_basic_block:
      case DW_LNS_set_prologue_end:
      case DW_LNS_set_epilogue_begin:
        break;
      default:  // DW_LNS_set_isa and opcodes this reader does not know: skip their operands
        for (unsigned i = 0; i < std_len[op]; ++i) c.uleb();
        break;
    }
  }
}

namespace {

// A function object, so that the sorts and checks inline it.
struct Before {
  bool operator()(const std::pair<std::uint64_t, LineRow>& a, const std::pair<std::uint64_t, LineRow>& b) const {
    if (a.first != b.first) return a.first < b.first;
    return a.second.end_seq > b.second.end_seq;
  }
};
constexpr Before before;

}  // namespace

void sort_line_rows(std::vector<std::pair<std::uint64_t, LineRow>>& rows,
                    std::vector<std::pair<std::uint64_t, LineRow>>& out, std::vector<std::size_t>& orig) {
  if (std::is_sorted(rows.begin(), rows.end(), before)) return;
  // Sequences sorted by start and concatenated, then the rows of each
  // shared address ordered (a sequence's last row often shares its end's
  // address).
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
  orig.clear();
  for (auto [b, e] : seqs) {
    for (std::size_t i = b; i < e; ++i) {
      if (!out.empty() && rows[i].first < out.back().first) {  // sequences overlap
        std::stable_sort(rows.begin(), rows.end(), before);
        return;
      }
      out.push_back(rows[i]);
      orig.push_back(i);
    }
  }
  // Insertion sort of each shared address's rows: a few rows each.
  auto later = [&](std::size_t x, std::size_t y) {  // x goes after y
    if (out[x].second.end_seq != out[y].second.end_seq) return out[y].second.end_seq > out[x].second.end_seq;
    return orig[x] > orig[y];
  };
  for (std::size_t i = 1; i < out.size(); ++i) {
    for (std::size_t k = i; k > 0 && out[k].first == out[k - 1].first && later(k - 1, k); --k) {
      std::swap(out[k], out[k - 1]);
      std::swap(orig[k], orig[k - 1]);
    }
  }
  rows.swap(out);
}

}  // namespace xentt::sym::detail
