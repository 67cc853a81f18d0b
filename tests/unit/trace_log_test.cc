// The trace log: round trip, seeking by brctr, torn and damaged files.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
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

// Damage each reader must agree on: a log written by the writer, then
// patched. reseal() recomputes a patched frame's CRCs with zlib (not our
// code), as a writer that wrote those bytes would have, so that only the
// check under test can catch the patch.
namespace {

std::uint32_t le32(const std::string& b, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
  return v;
}
void put_le(std::string& b, std::size_t at, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
}
void reseal(std::string& b, std::size_t off) {
  const auto* p = reinterpret_cast<const Bytef*>(b.data() + off);
  uLong c = crc32(crc32(0, nullptr, 0), p, 8);
  c = crc32(c, p + 16, le32(b, off + 4));
  put_le(b, off + 8, c, 4);
  put_le(b, off + 12, crc32(crc32(0, nullptr, 0), p, 12), 4);
}

// write_log(tag, 3): header, then (branches, marker) x3, index, end.
constexpr std::size_t kBr1 = 1, kMark2 = 2, kBr3 = 3, kMark4 = 4, kBr5 = 5, kIndex = 7;

struct Patched {
  std::string path;
  std::vector<FrameInfo> frames;  // of the intact log
  std::string bytes;
  explicit Patched(const char* tag) : path(temp_path(tag)) {
    std::string p = write_log(tag, 3);
    frames = LogReader(p).frames();
    bytes = slurp(p);
    std::remove(p.c_str());
  }
  ~Patched() { std::remove(path.c_str()); }
  std::size_t at(std::size_t frame) const { return frames[frame].offset; }
  std::string offset(std::size_t frame) const { return path + ": offset " + std::to_string(at(frame)) + ": "; }
  void save() const { spit(path, bytes); }
  // The log cut just before its index: as if the tracer had died.
  void cut_before_index() { bytes.resize(at(kIndex)); }
};

std::uint64_t count_branches(const LogReader& r) { return r.for_each_branch(0, 0, ~0ull, [](const Branch&) {}); }

// The verdict both readers must reach on damage to frame `frame`: a strict
// reader refuses the log on open, a dump's reader opens it and check()
// names the same damage. Returns the dump's reader.
std::unique_ptr<LogReader> same_verdict(const Patched& l, std::size_t frame, const std::string& why) {
  CHECK_THROWS_WITH(LogReader(l.path), ContainsSubstring(l.offset(frame) + why));
  auto d = std::make_unique<LogReader>(l.path, OnDamage::Continue);
  CHECK_THROWS_WITH(d->check(frame), ContainsSubstring(l.offset(frame) + why));
  return d;
}

}  // namespace

TEST_CASE("trace log: a damaged marker frame header is damage to every reader, not only to one that reads markers") {
  Patched l("markhdr");
  l.bytes[l.at(kMark2) + 2] ^= 1;  // its vcpu: the header CRC no longer matches
  l.save();
  auto d = same_verdict(l, kMark2, "damaged frame header");
  CHECK(d->complete());
  REQUIRE(d->frames().size() == 9);
  CHECK_THROWS_WITH(d->json(kMark2), ContainsSubstring(l.offset(kMark2) + "damaged frame header"));
  for (std::size_t f : {kBr1, kBr3, kMark4, kBr5}) CHECK_NOTHROW(d->check(f));
  CHECK(count_branches(*d) == 3000);
  CHECK(d->damage_between_frames().empty());
}

TEST_CASE("trace log: a marker that is not a JSON object is refused on open, even with its CRCs right") {
  Patched l("markjson");
  std::size_t pay = l.at(kMark2) + 16;
  REQUIRE(l.bytes.substr(pay, 15) == R"({"what":"tick"})");
  l.bytes.replace(pay, 15, R"(["what","tick"])");
  reseal(l.bytes, l.at(kMark2));
  l.save();
  auto d = same_verdict(l, kMark2, "marker frame is not a JSON object");
  CHECK_NOTHROW(d->check(kMark4));
}

TEST_CASE("trace log: a damaged branch payload is found by check() as by decoding, in both modes") {
  Patched l("brpay");
  l.bytes[l.at(kBr3) + 16 + 40] ^= 0x10;  // inside the streams
  l.save();
  for (OnDamage mode : {OnDamage::Throw, OnDamage::Continue}) {
    LogReader r(l.path, mode);  // branch payloads are checked when read, not on open
    CHECK_THROWS_WITH(r.check(kBr3), ContainsSubstring(l.offset(kBr3) + "damaged frame (CRC mismatch)"));
    CHECK_THROWS_WITH(r.branches(kBr3), ContainsSubstring(l.offset(kBr3) + "damaged frame (CRC mismatch)"));
    CHECK_NOTHROW(r.check(kBr1));
    CHECK_NOTHROW(r.check(kBr5));
  }
}

TEST_CASE("trace log: an index entry of a non-branch frame must have no count, brctr or icount") {
  // Entry i starts at index payload offset 40 * i: count at +32, first_brctr
  // at +16, first_icount at +24, reserved at +36.
  for (auto [field, bytes, value] : {std::tuple{32, 4, 0xffffffffull}, std::tuple{16, 8, 1ull},
                                     std::tuple{24, 8, 77ull}, std::tuple{36, 4, 1ull}}) {
    Patched l("idxcount");
    std::size_t entry = l.at(kIndex) + 16 + 40 * kMark2;
    put_le(l.bytes, entry + static_cast<std::size_t>(field), value, bytes);
    reseal(l.bytes, l.at(kIndex));
    l.save();
    std::string where = l.path + ": offset " + std::to_string(entry) + ": index entry 2";
    CHECK_THROWS_WITH(LogReader(l.path), ContainsSubstring(where));
    CHECK_THROWS_WITH(LogReader(l.path, OnDamage::Continue), ContainsSubstring(where));
  }
}

TEST_CASE("trace log: an index entry of a branches frame too short for its batch header is refused") {
  Patched l("idxshort");
  std::size_t entry = l.at(kIndex) + 16 + 40 * kBr1;
  // Move 20 bytes of frame 1 into frame 2 as far as the index says: the
  // entries still tile the file.
  put_le(l.bytes, entry + 12, 20, 4);
  put_le(l.bytes, entry + 40, l.at(kBr1) + 16 + 20, 8);
  put_le(l.bytes, entry + 40 + 12, l.frames[kMark2].stored_bytes + l.frames[kBr1].stored_bytes - 20, 4);
  reseal(l.bytes, l.at(kIndex));
  l.save();
  CHECK_THROWS_WITH(LogReader(l.path), ContainsSubstring("index entry 1 has a bad length"));
}

TEST_CASE("trace log: a branches frame cannot claim more records than its bytes can hold") {
  LogWriter::Options o;
  o.encoding = Encoding::Delta;  // uncompressed: a record takes at least one byte
  std::string p = temp_path("bigcount");
  {
    LogWriter w(p, "{}", o);
    w.add_branches(0, trace(1, 100));
  }
  std::string b = slurp(p);
  std::size_t br = LogReader(p).frames()[1].offset;
  b.resize(LogReader(p).frames()[2].offset);  // no index: the count is read from the batch header
  put_le(b, br + 16 + 24, 1u << 20, 4);        // within kMaxBatch, far beyond the frame's bytes
  reseal(b, br);
  spit(p, b);
  CHECK_THROWS_WITH(LogReader(p), ContainsSubstring(": offset " + std::to_string(br) + ": branches frame of "));
  std::remove(p.c_str());
}

TEST_CASE("trace log: in a log without an index, a dump resynchronises after a damaged frame header") {
  Patched l("resync");
  l.cut_before_index();
  l.bytes[l.at(kBr3) + 5] ^= 0x40;  // its length: the header CRC fails
  l.save();
  CHECK_THROWS_WITH(LogReader(l.path), ContainsSubstring(l.offset(kBr3) + "damaged frame header"));
  LogReader d(l.path, OnDamage::Continue);
  CHECK_FALSE(d.complete());
  REQUIRE(d.damage_between_frames().size() == 1);
  CHECK_THAT(d.damage_between_frames()[0], ContainsSubstring(l.offset(kBr3) + "damaged frame header"));
  CHECK_THAT(d.damage_between_frames()[0], ContainsSubstring("next intact frame at offset " + std::to_string(l.at(kMark4))));
  REQUIRE(d.frames().size() == 6);  // header, branches, marker, (damage), marker, branches, marker
  CHECK(d.frames()[3].offset == l.at(kMark4));
  for (std::size_t f = 0; f < d.frames().size(); ++f) CHECK_NOTHROW(d.check(f));
  CHECK(count_branches(d) == 2000);
  CHECK(d.end_of_frames() == l.bytes.size());
}

TEST_CASE("trace log: a batch that breaks its vCPU's brctr order is a damaged frame; a dump skips it") {
  Patched l("overlap");
  l.cut_before_index();
  put_le(l.bytes, l.at(kBr3) + 16, 500, 8);  // first_brctr 500: inside frame 1's 1..1000
  reseal(l.bytes, l.at(kBr3));
  l.save();
  auto d = same_verdict(l, kBr3, "vcpu 0 batch at brctr 500 overlaps");
  CHECK_NOTHROW(d->check(kBr5));
  CHECK(count_branches(*d) == 2000);
}
