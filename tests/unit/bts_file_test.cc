// .bts files: the writer's output read back, byte layout, broken sizes.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "xentt/tracefmt/bts_file.h"
#include "xentt/base/error.h"

using namespace xentt;

using bts::BtsFile;
using bts::BtsWriter;
using bts::Format;
using bts::Record;

namespace {
std::string temp_path(const char* tag) {
  return std::string("/tmp/xentt_bts_test_") + tag + "_" + std::to_string(::getpid()) + ".bts";
}
std::vector<unsigned char> slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
}  // namespace

TEST_CASE("an extended file starts with 24 bytes of ones, then little-endian from/to/brctr") {
  std::string p = temp_path("layout");
  {
    BtsWriter w(p, Format::Extended);
    w.write(Record{0x1122334455667788ull, 0x10, 42});
    w.close();
  }
  auto b = slurp(p);
  REQUIRE(b.size() == 48);
  for (int i = 0; i < 24; ++i) CHECK(b[static_cast<std::size_t>(i)] == 0xff);
  // from, byte by byte, least significant first (hand-written expectation).
  const unsigned char from[8] = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
  CHECK(std::memcmp(b.data() + 24, from, 8) == 0);
  CHECK(b[32] == 0x10);
  CHECK(b[40] == 42);
  std::remove(p.c_str());
}

TEST_CASE("records written raw and extended read back with their counters") {
  for (Format fmt : {Format::Raw, Format::Extended}) {
    std::string p = temp_path("roundtrip");
    std::vector<Record> recs;
    for (std::uint64_t i = 0; i < 100000; ++i) recs.push_back({0x401000 + i, 0x402000 + 2 * i, i * 3});
    {
      BtsWriter w(p, fmt);
      w.write(recs);
      CHECK(w.records_written() == recs.size());
      w.close();
    }
    BtsFile f(p);
    CHECK(f.format() == fmt);
    REQUIRE(f.size() == recs.size());
    CHECK(std::memcmp(f.records().data(), recs.data(), recs.size() * sizeof(Record)) == 0);
    if (fmt == Format::Extended) {
      CHECK(f.brctr(7) == 21u);
      CHECK(f.offset_of(0) == 24u);
    } else {
      CHECK_FALSE(f.brctr(7));
      CHECK(f.offset_of(0) == 0u);
    }
    std::remove(p.c_str());
  }
}

TEST_CASE("a size that is not a multiple of 24 names the file and the offset of the partial record") {
  std::vector<std::byte> bytes(24 * 2 + 5);
  try {
    BtsFile f(bytes, "t.bts");
    FAIL("no error");
  } catch (const xentt::Error& e) {
    CHECK(e.exit_status() == 2);
    CHECK_THAT(e.what(), Catch::Matchers::ContainsSubstring("t.bts") &&
                             Catch::Matchers::ContainsSubstring("offset 48") &&
                             Catch::Matchers::ContainsSubstring("53"));
  }
}

TEST_CASE("an empty file is a raw trace of no records; a lone marker an empty extended one") {
  BtsFile empty(std::span<const std::byte>{}, "e.bts");
  CHECK(empty.size() == 0);
  CHECK(empty.format() == Format::Raw);
  Record m = bts::kExtendedMarker;
  BtsFile marker({reinterpret_cast<const std::byte*>(&m), sizeof m}, "m.bts");
  CHECK(marker.size() == 0);
  CHECK(marker.format() == Format::Extended);
}

TEST_CASE("a missing file is a bad-input error naming it") {
  try {
    BtsFile f("/nonexistent/x.bts");
    FAIL("no error");
  } catch (const xentt::Error& e) {
    CHECK(e.exit_status() == 2);
    CHECK_THAT(e.what(), Catch::Matchers::ContainsSubstring("/nonexistent/x.bts"));
  }
}
