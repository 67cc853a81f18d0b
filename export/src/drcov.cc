// DynamoRIO's drcov coverage log, version 2 (read by Lighthouse, Cartographer,
// bncov...): a text header, the module table, then "BB Table: N bbs" and N
// binary entries {u32 start (offset from the module's base), u16 size,
// u16 module id}, little-endian. A block is a straight-line run between two
// records: from the previous record's `to` to the end of the instruction at
// this record's `from` (to `from` itself when that instruction did not
// retire: an interrupt or a fault). Each distinct block is written once.
#include <fmt/format.h>

#include <unordered_set>

#include "xentt/base/error.h"
#include "xentt/base/le_bytes.h"
#include "writers.h"

namespace xentt::exports {

void write_drcov(Context& c) {
  const auto& mods = c.code.modules();
  bool any_code = false;
  for (const auto& m : mods) {
    any_code |= m.has_code;
    if (m.has_code && m.end - m.base > 0xffffffffull)
      throw bad_input(m.path + ": spans more than 4 GiB in the guest, more than drcov's 32-bit offsets reach");
  }
  if (!any_code)
    throw bad_input("drcov needs the code of the traced program to size blocks: give its ELF files "
                    "(-e FILE or --symmap FILE@lo-hi), not only System.map");
  struct Block {
    std::uint32_t start;
    std::uint16_t size, mod;
  };
  struct Hash {
    std::size_t operator()(std::uint64_t k) const noexcept { return std::hash<std::uint64_t>()(k); }
  };
  std::vector<Block> blocks;
  std::unordered_set<std::uint64_t, Hash> seen;  // (module, start, size) packed
  Walker w(c.trace, c.code, c.report);
  Step s;
  while (w.next(s)) {
    if (!s.has_run || !s.run_ok) continue;  // an unknown end (no code at `from`): counted by the walker
    std::uint64_t a = s.run_start, end = s.run_end;
    while (a < end) {
      int m = c.code.module_of(a, true);
      if (m < 0) {
        ++c.report.outside_modules;
        break;
      }
      const Module& mod = mods[std::size_t(m)];
      std::uint64_t stop = std::min({end, a + 0xffff, mod.end});
      Block bl{std::uint32_t(a - mod.base), std::uint16_t(stop - a), std::uint16_t(m)};
      std::uint64_t key = (std::uint64_t(bl.mod) << 48) ^ (std::uint64_t(bl.size) << 32) ^ bl.start;
      if (seen.insert(key).second) blocks.push_back(bl);
      a = stop;
    }
  }
  Buffer b(c.out);
  fmt::format_to(std::back_inserter(b.buf), "DRCOV VERSION: 2\nDRCOV FLAVOR: {}\n", c.options.flavor);
  fmt::format_to(std::back_inserter(b.buf), "Module Table: version 2, count {}\n", mods.size());
  b.buf += "Columns: id, base, end, entry, checksum, timestamp, path\n";
  for (std::size_t i = 0; i < mods.size(); ++i)
    fmt::format_to(std::back_inserter(b.buf), "{:2}, 0x{:016x}, 0x{:016x}, 0x{:016x}, 0x{:08x}, 0x{:08x}, {}\n", i,
                   mods[i].base, mods[i].end, 0, 0, 0, mods[i].path);
  fmt::format_to(std::back_inserter(b.buf), "BB Table: {} bbs\n", blocks.size());
  for (const Block& bl : blocks) {
    unsigned char e[8];
    le::put_u32(e, bl.start);
    le::put_u16(e + 4, bl.size);
    le::put_u16(e + 6, bl.mod);
    b.buf.append(reinterpret_cast<const char*>(e), sizeof e);
    b.maybe_flush();
  }
  b.flush();
}

}  // namespace xentt::exports
