// The symbolizer's range index (innermost range wins) and symbol maps.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <string>
#include <utility>
#include <vector>

#include "symbolize/src/interval_index.h"
#include "xentt/symbolize/symbolizer.h"
#include "xentt/base/error.h"

using namespace xentt;

using sym::detail::IntervalIndex;

TEST_CASE("nested ranges: the innermost wins, the outer resumes after it") {
  IntervalIndex ix;
  ix.add(0x100, 0x200, 1);  // a function
  ix.add(0x140, 0x160, 2);  // an inlined call in it
  ix.add(0x150, 0x158, 3);  // inlined into that
  ix.add(0x300, 0x310, 4);  // after a gap
  ix.build();
  CHECK(ix.find(0xff) == IntervalIndex::kNone);
  CHECK(ix.find(0x100) == 1);
  CHECK(ix.find(0x13f) == 1);
  CHECK(ix.find(0x140) == 2);
  CHECK(ix.find(0x150) == 3);
  CHECK(ix.find(0x157) == 3);
  CHECK(ix.find(0x158) == 2);
  CHECK(ix.find(0x160) == 1);
  CHECK(ix.find(0x1ff) == 1);
  CHECK(ix.find(0x200) == IntervalIndex::kNone);
  CHECK(ix.find(0x30f) == 4);
  CHECK(ix.find(0x310) == IntervalIndex::kNone);
}

TEST_CASE("equal ranges: the higher priority wins (deeper inline, later alias)") {
  IntervalIndex ix;
  ix.add(0x10, 0x20, 7, 0);
  ix.add(0x10, 0x20, 8, 1);
  ix.build();
  CHECK(ix.find(0x18) == 8);
}

TEST_CASE("overlapping, not nested: each address goes to the latest-starting range") {
  IntervalIndex ix;
  ix.add(0x10, 0x30, 1);
  ix.add(0x20, 0x40, 2);
  ix.build();
  CHECK(ix.find(0x1f) == 1);
  CHECK(ix.find(0x20) == 2);
  CHECK(ix.find(0x3f) == 2);
  CHECK(ix.find(0x40) == IntervalIndex::kNone);
}

TEST_CASE("symbol map specs: FILE[@lo-hi[+bias]][:prefix]") {
  auto m = sym::parse_symmap("xen-syms@ffff82d040000000-ffff82d0bfffffff:Xen");
  CHECK(m.path == "xen-syms");
  CHECK(m.lo == 0xffff82d040000000ull);
  CHECK(m.hi == 0xffff82d0bfffffffull);
  CHECK(m.prefix == "Xen:");
  CHECK(m.bias == 0);

  auto u = sym::parse_symmap("/a:b/prog@0x400000-0x800000+0x400000:User:", "/state");
  CHECK(u.path == "/a:b/prog");  // ':' in a directory is not a prefix
  CHECK(u.bias == 0x400000);
  CHECK(u.prefix == "User:");

  auto k = sym::parse_symmap("vmlinux", "/state");
  CHECK(k.path == "/state/vmlinux");
  CHECK(k.lo == 0);
  CHECK(k.contains(~0ull));
  CHECK(k.prefix.empty());

  CHECK_THROWS_AS(sym::parse_symmap("f@100"), xentt::Error);
  CHECK_THROWS_AS(sym::parse_symmap("f@200-100"), xentt::Error);
  CHECK_THROWS_AS(sym::parse_symmap("f@xyz-100"), xentt::Error);
  CHECK_THROWS_AS(sym::parse_symmap("@1-2"), xentt::Error);
}

TEST_CASE("format_symmap writes what parse_symmap reads back as the same map") {
  auto same = [](const sym::SymbolMapSpec& a, const sym::SymbolMapSpec& b) {
    return a.path == b.path && a.lo == b.lo && a.hi == b.hi && a.bias == b.bias && a.prefix == b.prefix &&
           a.sections == b.sections;
  };
  for (const char* spec : {"/s/vmlinux", "/s/xen-syms@ffff82d040000000-ffff82d0bfffffff:Xen",
                           "/a:b/prog@400000-800000+400000:User",
                           "/m/virtio_net.ko@ffffffffc0200000-ffffffffc020c000{.text=ffffffffc0200000,"
                           "__bug_table=ffffffffc0208000,.rodata.str1.1=ffffffffc0209a00}:virtio_net",
                           "/m/a.ko{.text=0}"}) {
    auto m = sym::parse_symmap(spec);
    CHECK(sym::format_symmap(m) == spec);
    CHECK(same(sym::parse_symmap(sym::format_symmap(m)), m));
  }
  // A whole-space map moved by a KASLR slide: the range is written so the bias can be.
  sym::SymbolMapSpec k;
  k.path = "/s/vmlinux";
  k.bias = 0x1a000000;
  CHECK(sym::format_symmap(k) == "/s/vmlinux@0-ffffffffffffffff+1a000000");
  CHECK(same(sym::parse_symmap(sym::format_symmap(k)), k));
  using Catch::Matchers::ContainsSubstring;
  // Sections keep their order; a name the syntax cannot carry is refused
  // on both sides.
  auto m = sym::parse_symmap("/m/x.ko@10-20{.data=18,.text=0x10}");
  REQUIRE(m.sections.size() == 2);
  CHECK(m.sections[0] == std::pair<std::string, std::uint64_t>{".data", 0x18});
  CHECK(m.sections[1].second == 0x10);
  CHECK(m.prefix.empty());
  m.sections.emplace_back("bad,name", 1);
  CHECK_THROWS_AS(sym::format_symmap(m), xentt::Error);
  CHECK_THROWS_WITH(sym::parse_symmap("/m/x.ko{.text}"), ContainsSubstring("not SECTION=ADDR"));
  CHECK_THROWS_WITH(sym::parse_symmap("/m/x.ko{.text=zz}"), ContainsSubstring("not a hex address"));
  CHECK_THROWS_WITH(sym::parse_symmap("/m/x.ko{.text=1"), ContainsSubstring("does not end with '}'"));
  CHECK_THROWS_WITH(sym::parse_symmap("/m/x.ko{a b=1}:p"), ContainsSubstring("not SECTION=ADDR"));
}

TEST_CASE("a System.map text gives sizes up to the next symbol and name lookup") {
  const char text[] =
      "ffffffff81000000 T _text\n"
      "ffffffff81000000 T startup_64\n"
      "ffffffff81000070 t secondary\n"
      "ffffffff81000100 A absolute_is_skipped\n"
      "ffffffff81000200 D some_data\n";
  auto f = sym::SymbolFile::from_memory({reinterpret_cast<const std::byte*>(text), std::strlen(text)}, "System.map");
  const sym::SymbolRange* s = f->symbol_at(0xffffffff81000010ull);
  REQUIRE(s);
  CHECK((s->name == "startup_64" || s->name == "_text"));
  s = f->symbol_at(0xffffffff81000150ull);
  REQUIRE(s);
  CHECK(s->name == "secondary");
  auto r = f->find_symbol("secondary");
  REQUIRE(r);
  CHECK(r->lo == 0xffffffff81000070ull);
  CHECK(r->hi == 0xffffffff81000200ull);
  CHECK_FALSE(f->find_symbol("absolute_is_skipped"));
  CHECK(f->symbol_at(0xffffffff80ffffffull) == nullptr);
}

namespace {

// A System.map of three functions (f, g at 0x1000, 0x1100; end) in a
// temporary file named after `tag`; the caller removes it.
std::string three_function_map(const char* tag) {
  std::string path = "/tmp/xentt_sym_test_" + std::string(tag) + std::to_string(::getpid()) + ".map";
  FILE* fp = std::fopen(path.c_str(), "w");
  REQUIRE(fp);
  std::fputs("0000000000001000 T f\n0000000000001100 T g\n0000000000001200 T end\n", fp);
  std::fclose(fp);
  return path;
}

}  // namespace

TEST_CASE("Symbolizer: maps in order, prefix, bias, unmapped addresses warned once, names back to addresses") {
  std::string path = three_function_map("");
  int warnings = 0;
  sym::Symbolizer sz({sym::parse_symmap(path + "@100000-200000+ff000:K")},
                     [&](const std::string&) { ++warnings; });
  sym::Resolved r;
  sz.resolve(0x100010, {}, r);
  CHECK(r.mapped);
  CHECK(r.prefix == "K:");
  CHECK(r.symbol == "f");
  CHECK(r.offset == 0x10);
  sz.resolve(0x5, {}, r);
  sz.resolve(0x6, {}, r);
  CHECK_FALSE(r.mapped);
  CHECK(warnings == 1);
  auto g = sz.find_symbol("K:g");
  REQUIRE(g);
  CHECK(g->lo == 0x100100);
  CHECK(g->hi == 0x100200);
  CHECK_FALSE(sz.find_symbol("nope"));
  std::remove(path.c_str());
}

TEST_CASE("Symbolizer: a bounded map before an unbounded one wins its range after lookups in the other") {
  // A process's code before the kernel's map, which covers every address:
  // the map of the last lookup (the kernel's) must not catch the next
  // address of the process's range.
  std::string dir = "/tmp/xentt_sym_order_" + std::to_string(::getpid());
  auto write = [&](const std::string& name, const char* text) {
    FILE* fp = std::fopen((dir + name).c_str(), "w");
    REQUIRE(fp);
    std::fputs(text, fp);
    std::fclose(fp);
    return dir + name;
  };
  std::string user = write(".user.map", "0000000000401000 T sync\n0000000000402000 T end\n");
  std::string kernel = write(".kernel.map", "ffffffff81000000 T entry\nffffffff81001000 T end\n");
  sym::Symbolizer sz({sym::parse_symmap(user + "@401000-402000"), sym::parse_symmap(kernel)}, [](const std::string&) {});
  sym::Resolved r;
  sz.resolve(0x401007, {}, r);
  CHECK(r.symbol == "sync");
  sz.resolve(0xffffffff81000010ull, {}, r);
  CHECK(r.symbol == "entry");
  sz.resolve(0x401007, {}, r);
  CHECK(r.symbol == "sync");
  sym::ResolveCache cache;
  sz.resolve_parsed(0xffffffff81000010ull, {}, r, cache);
  sz.resolve_parsed(0x401007, {}, r, cache);
  CHECK(r.symbol == "sync");
  std::remove(user.c_str());
  std::remove(kernel.c_str());
}

TEST_CASE("Symbolizer: the first map containing an address wins, whatever the last lookup's map was") {
  // A module's map listed before a whole-space kernel map cuts a hole in
  // it: lookups that alternate between them (a trace entering and leaving
  // module code) never stay in the kernel's map by habit.
  std::string path = three_function_map("order_");
  sym::Symbolizer sz({sym::parse_symmap(path + "@101000-101200+100000:M"), sym::parse_symmap(path + ":K"),
                      sym::parse_symmap(path + "@0-ffffffffffffffff+200000:Never")},
                     [](const std::string&) {});
  sym::Resolved r;
  for (int round = 0; round < 2; ++round) {
    sz.resolve(0x1010, {}, r);  // the kernel's map, below the module
    CHECK(r.prefix == "K:");
    CHECK(r.symbol == "f");
    sz.resolve(0x101110, {}, r);  // inside the module's range
    CHECK(r.prefix == "M:");
    CHECK(r.symbol == "g");
    CHECK(r.offset == 0x10);
    sz.resolve(0x101200, {}, r);  // just past it: the kernel's again
    CHECK(r.prefix == "K:");
    sz.resolve(~0ull, {}, r);  // the whole-space map includes the last address
    CHECK(r.mapped);
    CHECK(r.prefix == "K:");
  }
  std::remove(path.c_str());
}

TEST_CASE("loading rejects garbage with a bad-input error naming the file") {
  const char junk[] = "\x7f" "ELF garbage that is not an ELF file at all";
  try {
    sym::SymbolFile::from_memory({reinterpret_cast<const std::byte*>(junk), sizeof junk}, "junk.elf");
    FAIL("no error");
  } catch (const xentt::Error& e) {
    CHECK(e.exit_status() == 2);
    CHECK_THAT(e.what(), Catch::Matchers::ContainsSubstring("junk.elf"));
  }
}

TEST_CASE("large indexes (bucket tables) agree with a plain scan") {
  IntervalIndex ix;
  // 5000 functions of varying size with gaps, some with a nested range.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> fns;
  std::uint64_t a = 0x1000;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    std::uint64_t size = 16 + (i * 37) % 300;
    fns.push_back({a, a + size});
    ix.add(a, a + size, i);
    a += size + (i % 3 == 0 ? 8 : 0);
  }
  ix.build();
  for (std::uint64_t x = 0xff0; x < a + 16; x += 3) {
    std::uint32_t want = IntervalIndex::kNone;
    for (std::uint32_t i = 0; i < fns.size(); ++i)
      if (fns[i].first <= x && x < fns[i].second) want = i;
    REQUIRE(ix.find(x) == want);
  }
}

TEST_CASE("sorted addresses in clusters far apart (a unit's .text, .init.text...) agree with a plain scan") {
  using sym::detail::SortedAddresses;
  for (std::uint64_t per_bucket : {1, 4}) {
    SortedAddresses sa;
    auto& a = sa.vec();
    // Clusters of different sizes and densities, megabytes apart, one of
    // them too small for a bucket table, one a single address.
    std::uint64_t base = 0xffffffff81000000ull;
    for (auto [count, step] : {std::pair{3000, 3}, {40, 16}, {1, 1}, {700, 40}, {5000, 1}}) {
      for (int i = 0; i < count; ++i) a.push_back(base + static_cast<std::uint64_t>(i) * step + (i % 7 == 0 ? 1 : 0));
      base += 0x1000000;
    }
    a.push_back(a.back());  // a repeated address
    sa.build(per_bucket);
    auto scan = [&](std::uint64_t x) {
      std::size_t r = SortedAddresses::kNotFound;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] <= x) r = i;
      return r;
    };
    std::vector<std::uint64_t> probes = {0, a.front() - 1, a.front(), a.back(), a.back() + 1, ~0ull};
    for (std::size_t i = 0; i < a.size(); i += 7) probes.insert(probes.end(), {a[i] - 1, a[i], a[i] + 1, a[i] + 0x8000});
    for (std::uint64_t x : probes) REQUIRE(sa.last_le(x) == scan(x));
  }
}
