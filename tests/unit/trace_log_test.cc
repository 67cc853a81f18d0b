// The trace log: round trip, seeking by brctr, torn and damaged files.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "xentt/base/error.h"
#include "xentt/tracefmt/trace_log.h"

using namespace xentt::xtl;
using Catch::Matchers::ContainsSubstring;

namespace {

std::string temp_path(const char* tag) {
  return std::string("/tmp/xentt_rlog_test_") + tag + "_" + std::to_string(::getpid()) + ".log";
}
std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void spit(const std::string& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

// A loop with a call in it: repeated pairs, small icount steps, all kinds.
std::vector<Branch> trace(std::uint64_t first, std::size_t n) {
  std::vector<Branch> v;
  std::uint64_t icount = first * 5;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t br = first + i;
    auto kind = static_cast<BranchKind>(1 + br % 11);
    std::uint64_t from = 0xffffffff81000000ull + (br % 7) * 0x40;
    std::uint64_t to = br % 3 ? from - 0x20 : 0x400000 + (br % 5);
    icount += br % 9;
    v.push_back({from, to, br, icount, kind});
  }
  return v;
}

bool same(const Branch& a, const Branch& b) {
  return a.from == b.from && a.to == b.to && a.brctr == b.brctr && a.icount == b.icount && a.kind == b.kind;
}

// A log of `frames` batches of 1000 branches on vCPU 0, markers in between.
std::string write_log(const char* tag, int frames, LogWriter::Options opt = {}) {
  std::string p = temp_path(tag);
  LogWriter w(p, R"({"engine":"test","vcpus":1})", opt);
  for (int f = 0; f < frames; ++f) {
    w.add_branches(0, trace(1 + std::uint64_t(f) * 1000, 1000));
    w.add_marker(0, R"({"what":"tick"})");
  }
  w.close();
  return p;
}

}  // namespace

TEST_CASE("trace log: branches, markers and header read back as written") {
  for (Encoding enc : {Encoding::Delta, Encoding::DeltaZstd}) {
    std::string p = temp_path("roundtrip");
    auto a = trace(1, 5000), b = trace(100, 3000);
    {
      LogWriter::Options o;
      o.encoding = enc;
      o.max_batch = 2048;
      LogWriter w(p, R"({"engine":"test"})", o);
      w.add_marker(1, R"({"what":"arm"})");
      w.add_branches(0, a);
      w.add_branches(1, b);
      w.close();
    }
    LogReader r(p);
    CHECK(r.complete());
    CHECK_THAT(r.header_json(), ContainsSubstring("\"format_version\":1"));
    CHECK(r.vcpus() == std::vector<std::uint16_t>{0, 1});
    std::vector<Branch> got0, got1;
    r.for_each_branch(0, 0, ~0ull, [&](const Branch& x) { got0.push_back(x); });
    r.for_each_branch(1, 0, ~0ull, [&](const Branch& x) { got1.push_back(x); });
    REQUIRE(got0.size() == a.size());
    REQUIRE(got1.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(same(got0[i], a[i]));
    for (std::size_t i = 0; i < b.size(); ++i) CHECK(same(got1[i], b[i]));
    CHECK(r.frames()[1].type == FrameType::Marker);
    CHECK(r.json(1) == R"({"what":"arm"})");
    CHECK(r.frames()[2].count == 2048);  // split at max_batch
    std::remove(p.c_str());
  }
}

TEST_CASE("trace log: a brctr range decodes only the frames that hold it") {
  std::string p = write_log("seek", 500);
  LogReader r(p);
  auto fs = r.frames_overlapping(0, 123456, 124500);
  REQUIRE(fs.size() == 2);
  CHECK(r.frames()[fs[0]].first_brctr == 123001);
  CHECK(r.frames()[fs[1]].first_brctr == 124001);
  std::vector<std::uint64_t> seen;
  CHECK(r.for_each_branch(0, 123456, 124500, [&](const Branch& b) { seen.push_back(b.brctr); }) == 1045);
  CHECK(seen.front() == 123456);
  CHECK(seen.back() == 124500);
  CHECK(r.frames_overlapping(0, 500001, 600000).empty());
  CHECK(r.frames_overlapping(1, 0, 10).empty());
  CHECK(r.frames_overlapping(0, 1000, 1001).size() == 2);  // brctr 1000 ends frame 1, 1001 starts frame 2
  std::remove(p.c_str());
}

TEST_CASE("trace log: a log cut anywhere reads up to its last whole frame") {
  std::string p = write_log("cut", 6);
  std::string whole = slurp(p);
  LogReader full(p);
  std::vector<std::uint64_t> ends;  // end offset of each frame before the index
  for (const FrameInfo& f : full.frames())
    if (f.type != FrameType::Index && f.type != FrameType::End) ends.push_back(f.offset + 16 + f.stored_bytes);
  std::string q = temp_path("cut2");
  // Every cut from the end of the header frame to just before the trailer:
  // at boundaries and in the middle of frames.
  for (std::size_t cut = ends[0]; cut < whole.size(); cut += 7) {
    spit(q, whole.substr(0, cut));
    LogReader r(q);
    CHECK_FALSE(r.complete());
    std::size_t whole_frames = 0;
    while (whole_frames < ends.size() && ends[whole_frames] <= cut) ++whole_frames;
    std::uint64_t n = r.for_each_branch(0, 0, ~0ull, [](const Branch&) {});
    std::uint64_t expect = 0;
    for (std::size_t i = 0; i < whole_frames; ++i)
      if (full.frames()[i].type == FrameType::Branches) expect += full.frames()[i].count;
    CHECK(n == expect);
    CHECK(r.end_of_frames() <= cut);
  }
  // Cut inside the header frame: nothing to read, said so.
  spit(q, whole.substr(0, 30));
  CHECK_THROWS_WITH(LogReader(q), ContainsSubstring("offset 16"));
  std::remove(p.c_str());
  std::remove(q.c_str());
}

TEST_CASE("trace log: every flipped bit is rejected with an offset, never read as data") {
  std::string p = write_log("flip", 3);
  std::string whole = slurp(p);
  std::string q = temp_path("flip2");
  int rejected = 0, step = 0;
  for (std::size_t byte = 0; byte < whole.size(); byte += 3, ++step) {
    std::string bad = whole;
    bad[byte] = static_cast<char>(bad[byte] ^ (1 << (step % 8)));
    spit(q, bad);
    try {
      LogReader r(q);
      for (std::size_t f = 0; f < r.frames().size(); ++f) {
        if (r.frames()[f].type == FrameType::Branches) (void)r.branches(f);
        if (r.frames()[f].type == FrameType::Marker) (void)r.json(f);
      }
      // Only a flip in the trailer itself can go unnoticed as damage: the
      // log then reads as one cut before its trailer, with all its data.
      CHECK(byte >= whole.size() - 32);
      CHECK_FALSE(r.complete());
      CHECK(r.for_each_branch(0, 0, ~0ull, [](const Branch&) {}) == 3000);
    } catch (const xentt::Error& e) {
      CHECK(e.kind() == xentt::ErrorKind::BadInput);
      CHECK_THAT(e.what(), ContainsSubstring(q + ": offset "));
      ++rejected;
    }
  }
  CHECK(rejected > 0);
  std::remove(p.c_str());
  std::remove(q.c_str());
}

TEST_CASE("trace log: wrong signature and unknown version are refused with offset and reason") {
  std::string p = write_log("version", 1);
  std::string whole = slurp(p);
  std::string bad = whole;
  bad[8] = 2;  // format version 2
  spit(p, bad);
  CHECK_THROWS_WITH(LogReader(p), ContainsSubstring("offset 8: trace log format version 2 is not supported"));
  bad = whole;
  bad[1] = 'Y';
  spit(p, bad);
  CHECK_THROWS_WITH(LogReader(p), ContainsSubstring("offset 0: not a trace log (bad signature)"));
  spit(p, "");
  CHECK_THROWS_WITH(LogReader(p), ContainsSubstring("too short"));
  std::remove(p.c_str());
  CHECK_THROWS_WITH(LogReader(p), ContainsSubstring("no such file"));
}

TEST_CASE("trace log: the writer refuses batches that would break brctr order") {
  std::string p = temp_path("order");
  LogWriter w(p, "{}");
  w.add_branches(0, trace(10, 10));
  CHECK_THROWS_WITH(w.add_branches(0, trace(15, 10)), ContainsSubstring("overlaps"));
  auto gap = trace(30, 3);
  gap[2].brctr = 40;
  CHECK_THROWS_WITH(w.add_branches(0, gap), ContainsSubstring("not consecutive"));
  CHECK_THROWS_WITH(LogWriter(p + "x", "[1]"), ContainsSubstring("not a JSON object"));
  CHECK_THROWS_AS(LogWriter("/nonexistent/dir/x.log", "{}"), xentt::Error);
  w.close();
  std::remove(p.c_str());
}
