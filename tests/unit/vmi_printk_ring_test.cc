// The printk ring parser (xentt/vmi/printk_ring.h) over rings built by hand
// the way the kernel's writer lays them out (kernel/printk/
// printk_ringbuffer.c: data_alloc, desc_reserve): records in order, a
// block that wraps to the start of the data ring, skipped descriptors
// (reusable, committed-only, overwritten), and rings no kernel makes.
#include <catch2/catch_test_macros.hpp>

#include <cstring>
#include <vector>

#include "xentt/base/error.h"
#include "xentt/vmi/printk_ring.h"

using namespace xentt;
using namespace xentt::vmi;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void put(std::vector<std::byte>& v, std::size_t off, std::uint64_t x, std::size_t n = 8) {
  for (std::size_t i = 0; i < n; ++i) v[off + i] = static_cast<std::byte>(x >> (8 * i));
}

constexpr std::uint64_t sv(prb::DescState s, std::uint64_t id) { return (std::uint64_t(s) << 62) | id; }

// A ring of 8 descriptors and 128 bytes of text, 6.1's layout.
struct Ring {
  PrintkRingLayout l;
  std::vector<std::byte> descs = std::vector<std::byte>(8 * 24), infos = std::vector<std::byte>(8 * 88),
                         data = std::vector<std::byte>(128);
  PrintkRingImage image(std::uint64_t tail, std::uint64_t head) {
    return PrintkRingImage{3, 7, head, tail, descs, infos, data};
  }
  // A record `id` whose block is [begin, next) in lpos (unwrapped) space.
  void record(std::uint64_t id, prb::DescState st, std::uint64_t begin, std::uint64_t next, std::uint64_t seq,
              std::uint64_t ts, const std::string& text) {
    std::size_t d = (id & 7) * 24, i = (id & 7) * 88;
    put(descs, d, sv(st, id));
    put(descs, d + 8, begin);
    put(descs, d + 16, next);
    put(infos, i, seq);
    put(infos, i + 8, ts);
    put(infos, i + 16, text.size(), 2);
    auto b = prb::data_block(7, begin, next);
    REQUIRE(b);
    put(data, b->offset, id);
    std::memcpy(data.data() + b->offset + 8, text.data(), text.size());
  }
};

}  // namespace

TEST_CASE("printk ring: descriptor ids and states", "[vmi][printk]") {
  CHECK(prb::desc_id(sv(prb::DescState::Finalized, 0x1234)) == 0x1234);
  CHECK(prb::desc_state(sv(prb::DescState::Reusable, 5)) == prb::DescState::Reusable);
  CHECK(prb::desc_state(sv(prb::DescState::Committed, prb::kIdMask)) == prb::DescState::Committed);
}

TEST_CASE("printk ring: data blocks in one wrap, wrapped, data-less, damaged", "[vmi][printk]") {
  auto b = prb::data_block(7, 128 * 3 + 16, 128 * 3 + 48);  // wrap 3, offset 16, 32 bytes
  REQUIRE(b);
  CHECK(b->offset == 16);
  CHECK(b->size == 32);
  b = prb::data_block(7, 128 * 3 + 112, 128 * 4 + 40);  // would cross the end: starts again at 0
  REQUIRE(b);
  CHECK(b->offset == 0);
  CHECK(b->size == 40);
  CHECK_FALSE(prb::data_block(7, 1, 1));                        // NO_LPOS: data-less
  CHECK_FALSE(prb::data_block(7, 16, 12));                      // next before begin in one wrap
  CHECK_FALSE(prb::data_block(7, 0, 128 * 5));                  // wraps apart
  CHECK_FALSE(prb::data_block(7, 12, 40));                      // misaligned
  CHECK_FALSE(prb::data_block(7, 16, 20));                      // shorter than its id
  CHECK_FALSE(prb::data_block(7, 128 * 2 + 120, 128 * 3 + 4));  // wrapped, misaligned
}

TEST_CASE("printk ring: finalized records from tail to head, a wrapped block among them", "[vmi][printk]") {
  Ring r;
  // ids 9..13 (indexes 1..5); lpos runs 128*2+48 .. 128*3+56.
  r.record(9, prb::DescState::Reusable, 256 + 16, 256 + 48, 0, 0, "gone");
  r.record(10, prb::DescState::Finalized, 256 + 48, 256 + 72, 7, 1500000, "Linux version");
  r.record(11, prb::DescState::Finalized, 256 + 72, 256 + 104, 8, 2000001000, "two\nlines");
  r.record(12, prb::DescState::Finalized, 256 + 104, 384 + 32, 9, 3000000000, "wrapped!");  // 24 bytes left: to 0
  r.record(13, prb::DescState::Committed, 384 + 32, 384 + 56, 10, 4000000000, "open");
  auto recs = parse_printk_ring(r.l, r.image(9, 13));
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].seq == 7);
  CHECK(recs[0].text == "Linux version");
  CHECK(recs[1].text == "two\nlines");
  CHECK(recs[2].text == "wrapped!");
  CHECK(dmesg_lines(recs[0]) == "[    0.001500] Linux version\n");
  CHECK(dmesg_lines(recs[1]) == "[    2.000001] two\n[    2.000001] lines\n");
  CHECK(dmesg_lines(PrintkRecord{0, 0, "esc\x1b[2Jape"}) == "[    0.000000] esc\\x1b[2Jape\n");

  SECTION("a descriptor whose id is another's (overwritten) is skipped") {
    put(r.descs, (11 & 7) * 24, sv(prb::DescState::Finalized, 11 + 8));
    CHECK(parse_printk_ring(r.l, r.image(9, 13)).size() == 2);
  }
  SECTION("a block whose id is not its descriptor's (reused) is skipped") {
    put(r.data, 256 + 48 - 256, 99);
    CHECK(parse_printk_ring(r.l, r.image(9, 13)).size() == 2);
  }
  SECTION("a text_len longer than its block is cut to the block") {
    put(r.infos, (10 & 7) * 88 + 16, 60000, 2);
    CHECK(parse_printk_ring(r.l, r.image(9, 13))[0].text.size() == 16);
  }
}

TEST_CASE("printk ring: rings no kernel makes are BadInput", "[vmi][printk]") {
  Ring r;
  auto bad = [&](PrintkRingImage img, const std::string& part) {
    try {
      parse_printk_ring(r.l, img);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::BadInput);
      INFO(e.what());
      CHECK(has(e.what(), part));
    }
  };
  bad(r.image(0, 8), "apart");  // 9 ids in 8 descriptors
  bad(r.image(5, 2), "apart");  // head behind tail
  auto img = r.image(0, 1);
  img.count_bits = 40;
  bad(img, "out of range");
  img = r.image(0, 1);
  img.data = std::span(r.data).first(64);
  bad(img, "do not match");
  CHECK_THROWS_AS(printk_ring_bytes(r.l, 20, 31), Error);  // 2 GiB of text: over the cap
  // Blocks that overlap, each with its own id: more text than the ring holds.
  r.record(0, prb::DescState::Finalized, 0, 120, 0, 0, std::string(100, 'x'));
  r.record(1, prb::DescState::Finalized, 16, 120, 1, 0, std::string(90, 'y'));
  bad(r.image(0, 1), "more text");
}
