// AddressLines (tt_symbolize's batch formatter): whatever it keeps, reuses
// or starts over, each line must be what a plain lookup prints.
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "symbolize/src/dwarf_lines.h"
#include "xentt/symbolize/printer.h"
#include "xentt/symbolize/symbolizer.h"

using namespace xentt;

namespace {

// This test program itself: an ELF with a symbol table and DWARF (the
// builds that run unit tests all use -g).
const char kSelf[] = "/proc/self/exe";

// Addresses around main: inside functions, between them, repeated.
std::vector<std::uint64_t> sample(sym::Symbolizer& sz, std::size_t n, unsigned seed) {
  auto m = sz.find_symbol("main");
  REQUIRE(m);
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> distinct;
  for (int i = 0; i < 3000; ++i) distinct.push_back(m->lo - 0x8000 + rng() % 0x10000);
  std::vector<std::uint64_t> out;
  // Skewed: low indexes come back often, as hot code does in a trace.
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(distinct[std::min(rng() % distinct.size(), rng() % distinct.size())]);
  return out;
}

// What a plain resolve() (which parses on demand) prints.
std::string expected(sym::Symbolizer& sz, std::uint64_t a, const sym::PrintOptions& po) {
  sym::Resolved r;
  sz.resolve(a, {po.lines, po.inlines}, r);
  std::string s;
  sym::append_address_line(s, r, po);
  return s;
}

void check_batches(const sym::PrintOptions& po, std::size_t max_bytes) {
  sym::Symbolizer plain({sym::parse_symmap(kSelf)}, nullptr, true);
  sym::Symbolizer batched({sym::parse_symmap(kSelf)}, nullptr, true);
  sym::AddressLines lines(batched, po, 2, max_bytes);
  std::size_t with_source = 0;
  // A batch large enough for two threads, the same addresses again
  // (every one kept), then a small interactive-sized one.
  for (auto [n, seed] : {std::pair{20000u, 1u}, {20000u, 1u}, {3u, 2u}, {9000u, 3u}}) {
    auto addrs = sample(plain, n, seed);
    if (seed == 1 && n == 20000 && max_bytes > 1) std::reverse(addrs.begin(), addrs.end());
    lines.format(addrs);
    for (std::size_t i = 0; i < addrs.size(); ++i) {
      REQUIRE(lines.line(i) == expected(plain, addrs[i], po));
      with_source += lines.line(i).find(".cc:") != std::string_view::npos;
    }
  }
  // The sample reaches code with line information (else the comparison
  // above would check little).
  if (po.lines) CHECK(with_source > 1000);
}

}  // namespace

TEST_CASE("AddressLines: every line equals a plain lookup's, kept, reused or started over") {
  sym::PrintOptions po;
  po.symbols = true;
  SECTION("symbols only") { check_batches(po, std::size_t{128} << 20); }
  po.lines = true;
  po.inlines = true;
  SECTION("inline frames, kept across batches") { check_batches(po, std::size_t{128} << 20); }
  SECTION("inline frames, starting over at every batch") { check_batches(po, 1); }
  po.json = true;
  SECTION("JSON") { check_batches(po, std::size_t{128} << 20); }
}

TEST_CASE("line rows: sort_line_rows gives a stable sort's order, sequences apart or overlapping") {
  using Rows = std::vector<std::pair<std::uint64_t, sym::detail::LineRow>>;
  auto before = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.end_seq > b.second.end_seq;
  };
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; ++round) {
    // Sequences at shuffled places (apart, or overlapping in odd rounds),
    // each in address order with rows sharing addresses, the last row
    // often at the end-of-sequence address.
    Rows rows;
    std::vector<std::uint64_t> bases = {0x1000, 0x9000, 0x3000, 0x20000, 0x5000};
    std::shuffle(bases.begin(), bases.end(), rng);
    std::uint32_t line = 1;
    for (std::uint64_t base : bases) {
      std::uint64_t a = base + (round % 2 ? rng() % 0x3000 : 0);
      int n = 1 + static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) {
        rows.push_back({a, {1, line++, 0, 0}});
        a += rng() % 3 == 0 ? 0 : rng() % 16;
      }
      rows.push_back({rng() % 2 ? rows.back().first : a + 4, {1, line++, 0, 1}});
    }
    Rows want = rows;
    std::stable_sort(want.begin(), want.end(), before);
    Rows out;
    std::vector<std::size_t> orig;
    sym::detail::sort_line_rows(rows, out, orig);
    REQUIRE(rows.size() == want.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      REQUIRE(rows[i].first == want[i].first);
      REQUIRE(rows[i].second.line == want[i].second.line);  // lines are unique: the same row
    }
  }
}
