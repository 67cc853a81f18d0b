// The time coordinate: parsing what users type after --until, and ordering.
#include <catch2/catch_test_macros.hpp>

#include "xentt/base/error.h"
#include "xentt/session/location.h"

using xentt::Location;
using xentt::parse_stop_point;

TEST_CASE("a location is eip[:brctr[:cx]] with hex or decimal numbers") {
  auto sp = parse_stop_point("0xffffffff81000000:1234:7");
  REQUIRE(sp.location);
  CHECK(sp.location->eip == 0xffffffff81000000ull);
  CHECK(sp.location->brctr == 1234u);
  CHECK(sp.location->cx == 7u);
  CHECK_FALSE(sp.icount);

  auto first_hit = parse_stop_point("4096");
  REQUIRE(first_hit.location);
  CHECK(first_hit.location->eip == 4096);
  CHECK_FALSE(first_hit.location->brctr);
}

TEST_CASE("icount=N names an instruction count") {
  auto sp = parse_stop_point("icount=0x10");
  REQUIRE(sp.icount);
  CHECK(sp.icount->value == 16);
  CHECK_FALSE(sp.location);
}

TEST_CASE("a symbol may stand for eip") {
  auto sp = parse_stop_point("work_sieve:99");
  REQUIRE(sp.symbol);
  CHECK(*sp.symbol == "work_sieve");
  CHECK(sp.location->brctr == 99u);
}

TEST_CASE("bad locations are refused as bad input, naming the text") {
  for (const char* bad : {"", "0x12:", "0x12:abc", "0x12:1:2:3", "icount=", "icount=-1", "0x", ":5",
                          "99999999999999999999999"}) {
    INFO(bad);
    try {
      parse_stop_point(bad);
      FAIL("accepted");
    } catch (const xentt::Error& e) {
      CHECK(e.exit_status() == 2);
    }
  }
}

TEST_CASE("locations with brctr are ordered by brctr, then eip, then rep count down") {
  Location a{0x2000, 5, {}}, b{0x1000, 6, {}}, c{0x2010, 5, {}};
  CHECK(a < b);
  CHECK(a < c);
  Location rep_first{0x3000, 9, {}}, rep_later{0x3000, 9, 3}, rep_last{0x3000, 9, 1};
  CHECK(rep_first < rep_later);
  CHECK(rep_later < rep_last);
  Location no_brctr{0x1000, {}, {}};
  CHECK((no_brctr <=> a) == std::partial_ordering::unordered);
  CHECK(xentt::format_location(rep_later) == "0x3000:9:3");
}
