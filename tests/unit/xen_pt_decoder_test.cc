// The vmtrace decoder (vm/xen/pt_decoder.h) on Intel PT streams made with
// libipt's own encoder for paths through the demo guest's real code. What
// each path must give is computed from objdump's disassembly of
// build/guest/demo.elf (xen_pt_stream.h), never from the decoder: a call
// and its return, a loop run N times, conditionals taken and not taken, an
// interrupt and its handler's return; then what a vmtrace ring does to a
// stream: several VM entries, a wrapped ring, a damaged byte, code that
// cannot be read, no trace at all. There is no PT hardware here; the
// streams are what the hardware would write for those paths.
//
// Tests that need the guest print SKIP without it (the sanitizer build
// has none; XENTT_GUEST=path/to/demo.elf runs them there).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "tests/unit/unit_util.h"
#include "tests/unit/xen_pt_stream.h"
#include "vm/xen/pt_bts.h"
#include "vm/xen/pt_decoder.h"
#include "xentt/tracefmt/bts_file.h"

using namespace xentt;
using Catch::Matchers::ContainsSubstring;
using test::Insn;
using test::Path;

namespace {

std::string demo_elf() {
  if (const char* g = std::getenv("XENTT_GUEST"); g && *g) return g;
  return XENTT_BINARY_DIR "/guest/demo.elf";
}

// The guest's disassembly, made once per run; null without the guest.
const test::Disasm* guest() {
  static std::unique_ptr<test::Disasm> dis = []() -> std::unique_ptr<test::Disasm> {
    if (!std::filesystem::exists(demo_elf())) return nullptr;
    return std::make_unique<test::Disasm>(demo_elf());
  }();
  return dis.get();
}
#define NEED_GUEST()                                                                              \
  const test::Disasm* dis_ptr = guest();                                                          \
  if (!dis_ptr) SKIP("no " + demo_elf() + " (the demo_guest target builds it; or set XENTT_GUEST)"); \
  const test::Disasm& dis = *dis_ptr;                                                             \
  test::ElfCode code(demo_elf())

xen::CodeReader reader(test::ElfCode& code) {
  return [&code](std::uint64_t a, std::span<std::uint8_t> out) { return code.read(a, out); };
}

xen::PtDecoded decode(std::span<const std::uint8_t> ring, test::ElfCode& code, std::uint64_t pos, bool wrapped = false) {
  return xen::decode_pt(xen::PtBuffer{ring, pos, wrapped}, reader(code));
}
xen::PtDecoded decode(const std::vector<std::uint8_t>& stream, test::ElfCode& code) {
  return decode(stream, code, stream.size());
}

// Records as lines "0x101462 <work_sieve+0x42> -> ...": what a failing
// comparison prints.
std::vector<std::string> show(const test::Disasm& dis, std::span<const bts::Record> rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(dis.name(r.from) + " -> " + dis.name(r.to) + (r.format ? " format!=0" : ""));
  return out;
}

std::vector<bts::Record> cat(std::vector<bts::Record> a, const std::vector<bts::Record>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The scenarios several tests use.
struct CallReturn {
  Insn call, ret;
  Path path;
};
CallReturn work_sieve_calls_memset(const test::Disasm& dis) {
  CallReturn c;
  c.call = dis.find("work_sieve", [&](const Insn& i) { return i.kind == Insn::Call && i.target == dis.sym("memset"); });
  c.ret = dis.find("memset", [](const Insn& i) { return i.kind == Insn::Ret; });
  c.path.start = c.call.addr;
  c.path.stop = c.call.next();
  return c;
}

// The first loop of `fn` whose body is straight-line code: a backward
// conditional branch with no other branch between its target and itself.
Insn simple_loop(const test::Disasm& dis, const std::string& fn) {
  return dis.find(fn, [&](const Insn& b) {
    if (b.kind != Insn::Cond || b.target >= b.addr) return false;
    for (std::uint64_t a = b.target; a < b.addr; a = dis.at(a).next())
      if (dis.at(a).kind != Insn::Other) return false;
    return true;
  });
}
Path loop_runs(const Insn& back_edge, unsigned n) {
  Path p;
  p.start = back_edge.target;
  p.stop = back_edge.next();
  p.taken = [=](const Insn& i, unsigned visit) { return i.addr == back_edge.addr && visit + 1 < n; };
  return p;
}

}  // namespace

TEST_CASE("pt: a call and its return (work_sieve calls memset)", "[pt]") {
  NEED_GUEST();
  CallReturn c = work_sieve_calls_memset(dis);
  const std::vector<bts::Record> want = {{c.call.addr, dis.sym("memset"), 0}, {c.ret.addr, c.call.next(), 0}};
  SECTION("the return compressed: one TNT bit") {}
  SECTION("the return as a TIP packet") { c.path.compress_returns = false; }
  test::Walk w = test::walk(dis, c.path);
  REQUIRE(show(dis, w.records) == show(dis, want));  // the oracle agrees with the scenario

  xen::PtDecoded d = decode(w.packets, code);
  CHECK(show(dis, d.records) == show(dis, want));
  CHECK(d.stats.records == 2);
  CHECK(d.stats.syncs == 1);
  CHECK(d.stats.gaps == 0);
  CHECK(d.stats.unresolved == 0);
  CHECK(d.stats.first_psb_offset == 0u);
  CHECK(d.stats.first_error.empty());
}

TEST_CASE("pt: a loop run N times (work_sieve's count loop)", "[pt]") {
  NEED_GUEST();
  const Insn back = simple_loop(dis, "work_sieve");
  for (unsigned n : {1u, 2u, 7u, 100u}) {
    CAPTURE(n, dis.name(back.addr));
    // Taken n-1 times back to the head, then falling through: n-1 records.
    const std::vector<bts::Record> want(n - 1, bts::Record{back.addr, back.target, 0});
    test::Walk w = test::walk(dis, loop_runs(back, n));
    REQUIRE(show(dis, w.records) == show(dis, want));
    REQUIRE(w.not_taken == 1);

    xen::PtDecoded d = decode(w.packets, code);
    CHECK(show(dis, d.records) == show(dis, want));
    CHECK(d.stats.gaps == 0);
  }
}

TEST_CASE("pt: conditionals taken and not taken, nested loops, short and long jumps", "[pt]") {
  NEED_GUEST();
  // Backward branches taken on their first three visits, forward ones on
  // every second: a path that takes and skips both kinds, through the
  // rel8 and rel32 forms of Jcc the compiler emitted.
  Path p;
  p.taken = [](const Insn& i, unsigned visit) { return i.target < i.addr ? visit < 3 : visit % 2 == 1; };
  SECTION("prime_count_reference, from its entry to its return") {
    p.start = dis.sym("prime_count_reference");
    p.stop = dis.find("prime_count_reference", [](const Insn& i) { return i.kind == Insn::Ret; }).addr;
  }
  SECTION("work_sieve's sieve and count, after memset to the jump back to memset") {
    const CallReturn c = work_sieve_calls_memset(dis);
    p.start = c.call.next();
    p.stop = dis.find("work_sieve", [&](const Insn& i) { return i.kind == Insn::Jump && i.target < c.call.addr; }).addr;
  }
  test::Walk w = test::walk(dis, p);
  CAPTURE(dis.name(p.start), dis.name(p.stop), w.taken, w.not_taken);
  REQUIRE(w.taken > 3);
  REQUIRE(w.not_taken > 3);

  xen::PtDecoded d = decode(w.packets, code);
  CHECK(show(dis, d.records) == show(dis, w.records));
  CHECK(d.stats.gaps == 0);
  CHECK(d.stats.unresolved == 0);
}

TEST_CASE("pt: an interrupt: #DE in checked_div, the handler, iretq to the fixup, the return", "[pt]") {
  NEED_GUEST();
  const std::uint64_t div = dis.sym("checked_div_insn");
  const std::uint64_t handler = dis.has("isr_stub_0") ? dis.sym("isr_stub_0") : dis.sym("isr_stub_table");
  const std::uint64_t fixup = dis.sym("checked_div_fixup");
  const Insn iret = dis.find("isr_common", [](const Insn& i) { return i.kind == Insn::Far; });
  const Insn fixup_ret = dis.find("checked_div_fixup", [](const Insn& i) { return i.kind == Insn::Ret; });
  // Where checked_div returns to: after a call of it (divide_checks, inlined where it was).
  std::uint64_t back = 0;
  for (const char* fn : {"work_checksum", "divide_checks"})
    if (dis.has(fn) && !back)
      back = dis.find(fn, [&](const Insn& i) { return i.kind == Insn::Call && i.target == dis.sym("checked_div"); }).next();
  REQUIRE(back != 0);
  const Insn vector_zero = dis.find("isr_dispatch", [](const Insn& i) { return i.kind == Insn::Cond; });

  Path p;
  p.start = dis.sym("checked_div");
  p.stop = back;
  p.interrupts = {{div, handler}};
  p.targets = {fixup, back};  // iretq to the fixup the handler wrote; the fixup's ret to the caller
  p.taken = [&](const Insn& i, unsigned) { return i.addr == vector_zero.addr; };  // vector 0: the #DE branch
  test::Walk w = test::walk(dis, p);
  REQUIRE(w.records.size() >= 6);
  CHECK(show(dis, {&w.records.front(), 1}) == show(dis, std::vector<bts::Record>{{div, handler, 0}}));
  CHECK(show(dis, {&w.records.back(), 1}) == show(dis, std::vector<bts::Record>{{fixup_ret.addr, back, 0}}));

  xen::PtDecoded d = decode(w.packets, code);
  CHECK(show(dis, d.records) == show(dis, w.records));
  const bts::Record iret_record{iret.addr, fixup, 0};
  CHECK(std::count_if(d.records.begin(), d.records.end(), [&](const bts::Record& r) {
          return r.from == iret_record.from && r.to == iret_record.to;
        }) == 1);
  CHECK(d.stats.gaps == 0);
}

TEST_CASE("pt: VM exits and entries: stretches of trace one after another", "[pt]") {
  NEED_GUEST();
  test::Walk a = test::walk(dis, work_sieve_calls_memset(dis).path);
  test::Walk b = test::walk(dis, loop_runs(simple_loop(dis, "work_sieve"), 5));
  std::vector<std::uint8_t> stream = a.packets;
  stream.insert(stream.end(), b.packets.begin(), b.packets.end());

  xen::PtDecoded d = decode(stream, code);
  CHECK(show(dis, d.records) == show(dis, cat(a.records, b.records)));
  CHECK(d.stats.gaps == 0);
}

TEST_CASE("pt: a PSB+ every few packets in running trace changes no record", "[pt]") {
  NEED_GUEST();
  Path p;
  p.start = dis.sym("prime_count_reference");
  p.stop = dis.find("prime_count_reference", [](const Insn& i) { return i.kind == Insn::Ret; }).addr;
  p.taken = [](const Insn& i, unsigned visit) { return i.target < i.addr ? visit < 8 : visit % 3 == 1; };
  SECTION("nested loops") {}
  SECTION("a call, and its return after the PSB: a TIP, not a compressed return") {
    const CallReturn c = work_sieve_calls_memset(dis);
    p.start = c.call.addr;
    p.stop = c.call.next();
    p.psb_every = 1;  // a PSB+ before every instruction
  }
  if (!p.psb_every) p.psb_every = 16;
  Path without = p;
  without.psb_every = 0;
  test::Walk plain = test::walk(dis, without);
  test::Walk w = test::walk(dis, p);
  REQUIRE(w.packets.size() > plain.packets.size() + 30);
  REQUIRE(show(dis, w.records) == show(dis, plain.records));

  xen::PtDecoded d = decode(w.packets, code);
  CHECK(show(dis, d.records) == show(dis, w.records));
  CHECK(d.stats.gaps == 0);
  CHECK(d.stats.syncs == 1);
}

TEST_CASE("pt: a wrapped ring decodes from the first PSB after its oldest byte", "[pt]") {
  NEED_GUEST();
  test::Walk a = test::walk(dis, work_sieve_calls_memset(dis).path);
  test::Walk b = test::walk(dis, loop_runs(simple_loop(dis, "work_sieve"), 9));
  // Oldest first: the tail of an older stretch whose start was overwritten
  // (its last 5 bytes, the end of a VM exit's FUP and TIP.PGD), then a, then b.
  std::vector<std::uint8_t> linear(b.packets.end() - 5, b.packets.end());
  const std::size_t tail = linear.size();
  linear.insert(linear.end(), a.packets.begin(), a.packets.end());
  linear.insert(linear.end(), b.packets.begin(), b.packets.end());
  const std::size_t size = linear.size();
  const auto want = show(dis, cat(a.records, b.records));

  // Every write position: the wrap splits the old tail, a PSB, a TIP, a TNT.
  for (std::size_t pos = 0; pos < size; pos++) {
    CAPTURE(pos, size);
    std::vector<std::uint8_t> ring(size);
    for (std::size_t i = 0; i < size; i++) ring[(pos + i) % size] = linear[i];
    xen::PtDecoded d = decode(ring, code, pos, /*wrapped=*/true);
    REQUIRE(show(dis, d.records) == want);
    REQUIRE(d.stats.first_psb_offset == (pos + tail) % size);  // a ring offset, not one in the copy
    REQUIRE(d.stats.gaps == 0);
  }
}

TEST_CASE("pt: a ring that has not wrapped: bytes after the write position are stale, not read", "[pt]") {
  NEED_GUEST();
  test::Walk a = test::walk(dis, work_sieve_calls_memset(dis).path);
  test::Walk old = test::walk(dis, loop_runs(simple_loop(dis, "work_sieve"), 3));
  // reset_and_enable sets the position back to 0 but leaves the old bytes.
  std::vector<std::uint8_t> ring = a.packets;
  ring.insert(ring.end(), old.packets.begin(), old.packets.end());
  ring.resize(4096);
  xen::PtDecoded d = decode(ring, code, a.packets.size(), /*wrapped=*/false);
  CHECK(show(dis, d.records) == show(dis, a.records));
  CHECK(d.stats.bytes == a.packets.size());
}

TEST_CASE("pt: a damaged byte costs a gap; decoding resumes at the next PSB", "[pt]") {
  NEED_GUEST();
  test::Walk a = test::walk(dis, loop_runs(simple_loop(dis, "work_sieve"), 200));  // 34 TNT packets
  // b starts at a PSB+ of running trace: its first block must not be taken
  // for the target of a's last branch, which the damage cut off.
  Path after = work_sieve_calls_memset(dis).path;
  after.enabled_at_psb = true;
  test::Walk b = test::walk(dis, after);
  std::vector<std::uint8_t> stream = a.packets;
  stream.insert(stream.end(), b.packets.begin(), b.packets.end());
  // A packet in the middle of a (after its PSB+ and TIP.PGE) becomes 0x05,
  // which is no Intel PT opcode.
  REQUIRE(a.packet_offsets.size() > 12);
  const std::uint64_t damaged = a.packet_offsets[a.packet_offsets.size() / 2];
  stream[damaged] = 0x05;

  xen::PtDecoded d = decode(stream, code);
  CAPTURE(d.stats.summary());
  CHECK(d.stats.gaps == 1);
  CHECK(d.stats.syncs == 2);
  CHECK(d.stats.first_error_offset == damaged);
  CHECK_THAT(d.stats.first_error, ContainsSubstring(fmt::format("offset {:#x}", damaged)));
  // What came before the damage, as a began; then all of b.
  REQUIRE(d.records.size() >= b.records.size());
  const std::size_t before = d.records.size() - b.records.size();
  CHECK(before > 0);
  CHECK(before < a.records.size());
  CHECK(show(dis, {d.records.data(), before}) == show(dis, {a.records.data(), before}));
  CHECK(show(dis, {d.records.data() + before, b.records.size()}) == show(dis, b.records));
}

TEST_CASE("pt: code the trace runs into that cannot be read is named by its address", "[pt]") {
  NEED_GUEST();
  // memset returns to 0xdead0000, where no code is, and the trace goes on
  // there (a conditional taken): then a fresh stretch.
  constexpr std::uint64_t nowhere = 0xdead0000;
  const Insn ret = dis.find("memset", [](const Insn& i) { return i.kind == Insn::Ret; });
  test::PacketWriter w;
  w.psb_plus();
  w.enable(dis.sym("memset"));
  w.tip(nowhere);
  w.tnt(true);
  w.disable_at(nowhere + 0x40);
  std::vector<std::uint8_t> stream = w.bytes();
  test::Walk b = test::walk(dis, work_sieve_calls_memset(dis).path);
  stream.insert(stream.end(), b.packets.begin(), b.packets.end());

  xen::PtDecoded d = decode(stream, code);
  CHECK(d.stats.gaps == 1);
  CHECK_THAT(d.stats.first_error, ContainsSubstring("cannot read guest code at 0xdead0000"));
  CHECK(show(dis, d.records) == show(dis, cat({{ret.addr, nowhere, 0}}, b.records)));
}

TEST_CASE("pt: the end of the trace: a last branch with its target, one without", "[pt]") {
  NEED_GUEST();
  CallReturn c = work_sieve_calls_memset(dis);
  SECTION("cut right after the compressed return's TNT bit: its target is still known") {
    test::Walk w = test::walk(dis, c.path);
    // Drop the closing FUP and TIP.PGD: the trace simply ends (a ring read
    // while the vCPU runs, say).
    std::vector<std::uint8_t> cut(w.packets.begin(), w.packets.begin() + static_cast<std::ptrdiff_t>(w.packet_offsets.end()[-2]));
    xen::PtDecoded d = decode(cut, code);
    CHECK(show(dis, d.records) == show(dis, w.records));
    CHECK(d.stats.unresolved == 0);
  }
  SECTION("tracing switched off at memset's return, the target suppressed: no record, one unresolved") {
    test::PacketWriter pw;
    pw.psb_plus();
    pw.enable(dis.sym("memset"));
    pw.disable_at_branch();
    std::vector<std::uint8_t> bytes = pw.bytes();
    xen::PtDecoded d = decode(bytes, code);
    CHECK(d.records.empty());
    CHECK(d.stats.unresolved == 1);
    CHECK(d.stats.gaps == 0);
    CHECK_THAT(d.stats.summary(), ContainsSubstring("1 branch without a target"));
  }
}

TEST_CASE("pt: no trace, and trace without a PSB", "[pt]") {
  auto no_code = [](std::uint64_t, std::span<std::uint8_t>) -> std::size_t { return 0; };
  SECTION("an empty buffer: a vCPU that did not run") {
    xen::PtDecoded d = xen::decode_pt(xen::PtBuffer{}, no_code);
    CHECK(d.records.empty());
    CHECK_FALSE(d.stats.synced());
    CHECK(d.stats.gaps == 0);
    CHECK(d.stats.first_error.empty());
  }
  SECTION("packets, but no PSB to start from") {
    test::PacketWriter w;
    w.enable(0x100000);
    w.tnt(true);
    w.tnt(false);
    w.disable_at(0x100100);
    std::vector<std::uint8_t> bytes = w.bytes();
    xen::PtDecoded d = xen::decode_pt(xen::PtBuffer{bytes, bytes.size(), false}, no_code);
    CHECK(d.records.empty());
    CHECK_FALSE(d.stats.synced());
    CHECK(d.stats.first_error_offset == 0u);
    CHECK_THAT(d.stats.first_error, ContainsSubstring(fmt::format("no PSB in the {} bytes", bytes.size())));
  }
  SECTION("a wrapped ring of PAD bytes (zeros)") {
    std::vector<std::uint8_t> zeros(4096);
    xen::PtDecoded d = xen::decode_pt(xen::PtBuffer{zeros, 100, true}, no_code);
    CHECK(d.records.empty());
    CHECK_THAT(d.stats.first_error, ContainsSubstring("offset 0x64: no PSB in the 4096 bytes"));
  }
}

TEST_CASE("pt: a write position outside the ring is refused", "[pt]") {
  std::vector<std::uint8_t> ring(4096);
  auto no_code = [](std::uint64_t, std::span<std::uint8_t>) -> std::size_t { return 0; };
  auto call = [&] { xen::decode_pt(xen::PtBuffer{ring, 5000, false}, no_code); };
  CHECK(test::status_of(call) == 2);
  CHECK_THAT(test::message_of(call), ContainsSubstring("write position 0x1388 is outside the 0x1000-byte trace buffer"));
}

TEST_CASE("pt: an exception of the code reader reaches the caller", "[pt]") {
  test::PacketWriter w;
  w.psb_plus();
  w.enable(0x100000);
  w.tnt(true);
  w.disable_at(0x100100);
  std::vector<std::uint8_t> bytes = w.bytes();
  auto failing = [](std::uint64_t a, std::span<std::uint8_t>) -> std::size_t {
    throw runtime_error(fmt::format("reading guest-virtual {:#x}: the hypercall failed", a));
  };
  auto call = [&] { xen::decode_pt(xen::PtBuffer{bytes, bytes.size(), false}, failing); };
  CHECK(test::status_of(call) == 1);
  CHECK_THAT(test::message_of(call), ContainsSubstring("reading guest-virtual 0x100000: the hypercall failed"));
}

TEST_CASE("pt: guest code is read a page at a time, not an instruction at a time", "[pt]") {
  NEED_GUEST();
  test::Walk w = test::walk(dis, loop_runs(simple_loop(dis, "work_sieve"), 1000));
  xen::PtDecoded d = decode(w.packets, code);
  CHECK(d.records.size() == 999);
  CHECK(code.calls <= 4);  // the loop's page or two, however often it runs
}

TEST_CASE("pt: records into a raw .bts file that bts_dump prints by function name", "[pt]") {
  NEED_GUEST();
  test::TempDir tmp;
  const std::string path = (tmp.path / "vcpu0.bts").string();
  test::Walk w = test::walk(dis, work_sieve_calls_memset(dis).path);
  std::vector<std::uint8_t> bytes = w.packets;
  xen::PtDecodeStats stats = xen::write_pt_bts(xen::PtBuffer{bytes, bytes.size(), false}, reader(code), path);
  CHECK(stats.records == 2);

  bts::BtsFile f(path);
  CHECK(f.format() == bts::Format::Raw);
  CHECK(show(dis, f.records()) == show(dis, w.records));

  const std::string bts_dump = XENTT_BINARY_DIR "/bin/bts_dump";
  if (!std::filesystem::exists(bts_dump)) SKIP("no " + bts_dump);
  FILE* p = ::popen((bts_dump + " --symbols -e " + demo_elf() + " " + path).c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  CHECK(::pclose(p) == 0);
  CHECK_THAT(out, ContainsSubstring("work_sieve+") && ContainsSubstring("-> memset"));
}
