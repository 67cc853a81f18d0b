// The gdb server's protocol, apart from sockets: framing (RspReader,
// rsp_frame), the target description and 'g' encoding, and GdbSession's
// answers over a fake target.
#include <catch2/catch_test_macros.hpp>

#include "debug_fake_target.h"
#include "xentt/debug/gdb_server.h"
#include "xentt/debug/rsp.h"
#include "xentt/debug/x86_tdesc.h"

using namespace xentt;
using namespace xentt::debug;

namespace {
std::string frame_sum(std::string_view p) { return rsp_frame(p); }

std::vector<RspEvent> events(std::string_view bytes) {
  RspReader r;
  r.feed(bytes);
  std::vector<RspEvent> out;
  while (auto e = r.next()) out.push_back(*e);
  return out;
}

// A session over `t`, and the payloads of what it answers to `payloads`.
struct Client {
  test::FakeTarget t;
  std::multiset<std::uint64_t> bps;
  std::multiset<Watchpoint> wps;
  std::vector<std::string> logged;
  GdbSession s{GdbSession::Shared{t, &bps, &wps}, [this](const std::string& m) { logged.push_back(m); }};
  std::string ask(const std::string& payload) { return s.handle(payload, {}); }
};
}  // namespace

TEST_CASE("rsp: packets, acks and interrupts come apart in any pieces", "[debug]") {
  const std::string bytes = "+" + frame_sum("qSupported:swbreak+") + "\x03-" + frame_sum("g");
  for (std::size_t piece : {1u, 2u, 7u, 1000u}) {
    RspReader r;
    std::vector<RspEvent> got;
    for (std::size_t i = 0; i < bytes.size(); i += piece) {
      r.feed(std::string_view(bytes).substr(i, piece));
      while (auto e = r.next()) got.push_back(*e);
    }
    REQUIRE(got.size() == 5);
    CHECK(got[0].kind == RspEvent::Ack);
    CHECK(got[1].kind == RspEvent::Packet);
    CHECK(got[1].payload == "qSupported:swbreak+");
    CHECK(got[2].kind == RspEvent::Interrupt);
    CHECK(got[3].kind == RspEvent::Nak);
    CHECK(got[4].payload == "g");
  }
}

TEST_CASE("rsp: escapes and run lengths are undone; our frames escape what they must", "[debug]") {
  // "}]" is '}' ^ 0x20 = '}'... as gdb sends binary: 0x7d 0x5d -> '}'.
  auto e = events("$a}]b0* #" + [] {
    unsigned s = 0;
    for (char c : std::string("a}]b0* ")) s += static_cast<unsigned char>(c);
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", s & 0xff);
    return std::string(buf);
  }());
  REQUIRE(e.size() == 1);
  REQUIRE(e[0].kind == RspEvent::Packet);
  CHECK(e[0].payload == "a}b0000");  // ' ' = 32 - 29 = 3 more '0'
  auto round = events(rsp_frame("x$y#z}w*"));
  REQUIRE(round.size() == 1);
  CHECK(round[0].payload == "x$y#z}w*");
}

TEST_CASE("rsp: malformed packets are reported, not taken", "[debug]") {
  auto bad_sum = events("$g#00");
  REQUIRE(bad_sum.size() == 1);
  CHECK(bad_sum[0].kind == RspEvent::Bad);
  CHECK(bad_sum[0].payload.find("checksum") != std::string::npos);
  auto not_hex = events("$g#zz");
  REQUIRE(not_hex.size() == 1);
  CHECK(not_hex[0].kind == RspEvent::Bad);
  auto cut = events("$abc$g#67");
  REQUIRE(cut.size() == 2);
  CHECK(cut[0].kind == RspEvent::Bad);
  CHECK(cut[1].payload == "g");
  // An oversized packet is skipped whole, however it arrives; the next one is taken.
  RspReader r;
  r.feed("$");
  for (int i = 0; i < 40; i++) r.feed(std::string(1000, 'A'));
  CHECK_FALSE(r.next().has_value());
  CHECK(r.pending() < 2 * kMaxPacket);  // not buffered without bound
  r.feed("#00" + frame_sum("?"));
  auto big = r.next();
  REQUIRE(big);
  CHECK(big->kind == RspEvent::Bad);
  CHECK(big->payload.find("over the limit") != std::string::npos);
  auto next = r.next();
  REQUIRE(next);
  CHECK(next->payload == "?");
  // A run length that would exceed the limit, or has nothing to repeat.
  CHECK(events(rsp_frame("") .substr(0, 1) + "*~#" + "9e")[0].kind == RspEvent::Bad);
}

TEST_CASE("x86 target description: the 'g' packet covers every register in order", "[debug]") {
  auto xml = x86_64_target_xml("target.xml");
  REQUIRE(xml);
  CHECK(xml->find("org.gnu.gdb.i386.core") != std::string_view::npos);
  CHECK(xml->find("name=\"cr3\"") != std::string_view::npos);
  CHECK(xml->find("name=\"k_gs_base\"") != std::string_view::npos);
  CHECK_FALSE(x86_64_target_xml("other.xml"));
  Registers r;
  r.set(Reg::rax, 0x1122334455667788);
  r.set(Reg::rflags, 0x246);
  r.set(Reg::cr3, 0x103000);
  std::string g = encode_g_packet(r);
  CHECK(g.substr(0, 16) == "8877665544332211");
  CHECK(g.substr(16, 16) == std::string(16, 'x'));  // rbx absent: unavailable, not zero
  // eflags is register 17, 4 bytes, after 17 registers of 8 bytes.
  CHECK(g.substr(2 * 17 * 8, 8) == "46020000");
  CHECK(*encode_register(r, 17) == "46020000");
  // cr3: after 16 GPRs + rip (8 B), eflags + 6 selectors (4 B), fs_base, gs_base, k_gs_base, cr0, cr2 (8 B).
  CHECK(g.substr(2 * (17 * 8 + 7 * 4 + 5 * 8), 16) == "0030100000000000");
  CHECK(*encode_register(r, 29) == "0030100000000000");
  CHECK_FALSE(encode_register(r, x86_64_register_count()));
  // Every register has its digits: 70 registers, x87/SSE 372 bytes of them.
  CHECK(g.size() == 2 * (17 * 8 + 7 * 4 + 9 * 8 + 372 + 8 + 4 + 8 + 4));  // 236 bytes as QEMU's, then x87/SSE, idtr, gdtr
}

TEST_CASE("gdb session: queries, registers, memory", "[debug]") {
  Client c;
  CHECK(c.ask("qSupported:multiprocess+;swbreak+").find("ReverseContinue+") != std::string::npos);
  CHECK(c.ask("?") == "T05thread:01;");
  CHECK(c.ask("qAttached") == "1");
  CHECK(c.ask("g").substr(0, 16) == std::string("0000000000000000"));
  CHECK(c.ask("p10") == "0001000000000000");  // rip = 0x100
  CHECK(c.ask("m1000,4") == "00010203");
  CHECK(c.ask("m0,4") == "E14");
  CHECK(c.ask("mzz,4") == "E02");
  CHECK(c.ask("m1000") == "E02");
  CHECK(c.ask("M1000,1:00") == "E01");  // a replay cannot change
  CHECK(c.ask("G00") == "E01");
  CHECK(c.ask("P0=00") == "E01");
  CHECK(c.ask("qXfer:features:read:target.xml:0,10")[0] == 'm');
  CHECK(c.ask("qXfer:features:read:target.xml:ffffff,10") == "l");
  CHECK(c.ask("qXfer:features:read:nope.xml:0,10") == "E00");
  CHECK(c.ask("qXfer:features:read:target.xml:") == "E02");
  CHECK(c.ask("vMustReplyEmpty").empty());
  CHECK(c.ask("Z5,1000,4").empty());  // not a breakpoint type we know
  CHECK(c.ask("Z2,1000,0") == "E02");  // a watchpoint needs a length
}

TEST_CASE("gdb session: breakpoints forward and back, history ends", "[debug]") {
  Client c;
  c.ask("qSupported:swbreak+");
  CHECK(c.ask("Z0,105,1") == "OK");
  CHECK(c.ask("Z0,10a,1") == "OK");
  CHECK(c.ask("c") == "T05thread:01;swbreak:;");
  CHECK(c.t.now == 5);
  CHECK(c.ask("s") == "T05thread:01;");
  CHECK(c.ask("vCont;c:01") == "T05thread:01;swbreak:;");
  CHECK(c.t.now == 10);
  CHECK(c.ask("bc") == "T05thread:01;swbreak:;");
  CHECK(c.t.now == 5);
  CHECK(c.ask("bc") == "T05thread:01;replaylog:begin;");
  CHECK(c.ask("bs") == "T05thread:01;replaylog:begin;");
  CHECK(c.ask("z0,105,1") == "OK");
  CHECK(c.ask("z0,10a,1") == "OK");
  CHECK(c.bps.empty());
  CHECK(c.ask("c") == "T05thread:01;replaylog:end;");
  CHECK(c.ask("?") == "T05thread:01;replaylog:end;");
}

TEST_CASE("gdb session: a client's breakpoints go with it; others' stay", "[debug]") {
  test::FakeTarget t;
  std::multiset<std::uint64_t> bps;
  std::multiset<Watchpoint> wps;
  auto a = std::make_unique<GdbSession>(GdbSession::Shared{t, &bps, &wps}, [](const std::string&) {});
  GdbSession b(GdbSession::Shared{t, &bps, &wps}, [](const std::string&) {});
  a->handle("Z0,105,1", {});
  a->handle("Z2,1010,4", {});
  b.handle("Z0,105,1", {});
  b.handle("Z0,107,1", {});
  CHECK(bps.size() == 3);
  CHECK(b.handle("z0,999,1", {}) == "OK");  // not b's: nothing removed
  CHECK(bps.size() == 3);
  CHECK(wps.size() == 1);
  a.reset();
  CHECK(bps == std::multiset<std::uint64_t>{0x105, 0x107});
  CHECK(wps.empty());
}

TEST_CASE("gdb session: monitor commands send console output, then OK or E01", "[debug]") {
  Client c;
  std::string out = c.s.on_bytes(rsp_frame("qRcmd," + hex_encode("when")), {});
  CHECK(out.find(rsp_frame("O" + hex_encode("instant 0\n"))) != std::string::npos);
  CHECK(out.ends_with(rsp_frame("OK")));
  out = c.s.on_bytes(rsp_frame("qRcmd," + hex_encode("bogus")), {});
  CHECK(out.find(hex_encode("unknown monitor command")) != std::string::npos);
  CHECK(out.ends_with(rsp_frame("E01")));
  CHECK(c.ask("qRcmd,zz") == "E02");
}

TEST_CASE("gdb session: acks, naks, no-ack mode, detach", "[debug]") {
  Client c;
  std::string out = c.s.on_bytes(rsp_frame("?"), {});
  CHECK(out == "+" + rsp_frame("T05thread:01;"));
  CHECK(c.s.on_bytes("-", {}) == rsp_frame("T05thread:01;"));  // sent again
  CHECK(c.s.on_bytes("$g#00", {}) == "-");                      // bad checksum: ask again
  REQUIRE(c.logged.size() == 1);
  CHECK(c.logged[0].find("checksum") != std::string::npos);
  CHECK(c.s.on_bytes(rsp_frame("QStartNoAckMode"), {}) == "+" + rsp_frame("OK"));
  CHECK(c.s.on_bytes(rsp_frame("?"), {}) == rsp_frame("T05thread:01;"));  // no '+' any more
  CHECK_FALSE(c.s.finished());
  CHECK(c.s.on_bytes(rsp_frame("D"), {}) == rsp_frame("OK"));
  CHECK(c.s.finished());
}

TEST_CASE("gdb session: watchpoints stop just after the access, forward and back", "[debug]") {
  Client c;
  CHECK(c.ask("Z2,1005,2") == "OK");  // instants 5 and 6 write there
  CHECK(c.ask("c") == "T05thread:01;watch:1005;");
  CHECK(c.t.now == 6);
  CHECK(c.ask("c") == "T05thread:01;watch:1006;");
  CHECK(c.t.now == 7);
  CHECK(c.ask("bc") == "T05thread:01;watch:1005;");
  CHECK(c.t.now == 6);
  CHECK(c.ask("bc") == "T05thread:01;replaylog:begin;");
  CHECK(c.ask("z2,1005,2") == "OK");
  CHECK(c.ask("Z3,1005,2") == "OK");  // reads: the fake reads nothing
  CHECK(c.ask("c") == "T05thread:01;replaylog:end;");
  CHECK(c.ask("z3,1005,2") == "OK");
  CHECK(c.wps.empty());
  for (int i = 0; i < 16; i++) CHECK(c.ask("Z4," + std::to_string(2000 + i) + ",1") == "OK");
  CHECK(c.ask("Z4,3000,1") == "E03");  // more than the plugin watches
}

TEST_CASE("gdb session: a target that cannot watch answers Z2-Z4 as not supported", "[debug]") {
  struct NoWatch : test::FakeTarget {
    bool can_watch() const override { return false; }
  } t;
  std::multiset<std::uint64_t> bps;
  std::multiset<Watchpoint> wps;
  GdbSession s(GdbSession::Shared{t, &bps, &wps}, [](const std::string&) {});
  CHECK(s.handle("Z2,1005,2", {}).empty());  // not supported: gdb says it cannot insert them
  CHECK(s.handle("Z4,1005,2", {}).empty());
  CHECK(wps.empty());
  CHECK(s.handle("Z0,105,1", {}) == "OK");  // breakpoints as ever
}
