// The trace exports (export/, docs/exports.md) on a hand-made program and
// trace: a code image of a few instructions, a System.map for names, and
// records written by hand, each format read back with a reader written
// here from the format's description. The instruction decoder is checked
// against objdump on real code.
#include <catch2/catch_test_macros.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "export/src/x86_insn.h"
#include "tests/unit/unit_util.h"
#include "xentt/export/code_image.h"
#include "xentt/export/export.h"

using namespace xentt;
using namespace xentt::exports;
using xtl::BranchKind;

namespace {

// main: calls f twice, then jumps back to itself; f: two nops and a ret;
// isr: a nop and iretq.
const std::vector<std::uint8_t> kCode = [] {
  std::vector<std::uint8_t> c = {
      0x90,                          // 1000 nop
      0xe8, 0x0a, 0x00, 0x00, 0x00,  // 1001 call 1010
      0x90,                          // 1006 nop
      0xe8, 0x04, 0x00, 0x00, 0x00,  // 1007 call 1010
      0x90,                          // 100c nop
      0xeb, 0xf1,                    // 100d jmp 1000
      0x90,                          // 100f
      0x90,                          // 1010 f: nop
      0x90,                          // 1011 nop
      0xc3,                          // 1012 ret
  };
  c.resize(0x20, 0x90);
  c.insert(c.end(), {0x90, 0x48, 0xcf});  // 1020 isr: nop; 1021 iretq
  c.resize(0x30, 0x90);
  return c;
}();

// The trace starts inside f, which main's first call entered before it.
const std::vector<bts::Record> kRecords = {
    {0x1012, 0x1006, 1},  // ret to main: reveals main below the start
    {0x1007, 0x1010, 2},  // call f
    {0x1011, 0x1020, 3},  // interrupt before the nop at 1011 retires
    {0x1021, 0x1011, 4},  // iretq back to it
    {0x1012, 0x100c, 5},  // ret to main
    {0x100d, 0x1000, 6},  // jmp
};

struct StringSink : Sink {
  std::string s;
  void write(std::string_view b) override { s += b; }
};

struct Fixture {
  test::TempDir dir;
  std::unique_ptr<sym::Symbolizer> symbols;
  CodeImage code;
  Fixture() {
    std::ofstream(dir.path / "System.map") << "0000000000001000 T main\n0000000000001010 T f\n"
                                              "0000000000001020 T isr\n0000000000001030 T end_of_code\n";
    symbols = std::make_unique<sym::Symbolizer>(
        std::vector<sym::SymbolMapSpec>{sym::parse_symmap((dir.path / "System.map").string())},
        [](const std::string&) {}, true);
    code.add(0x1000, kCode, "prog.elf");
  }
  std::string run(Format f, Trace t, Options o = {}, Report* rep = nullptr) {
    StringSink out;
    Report r = write_export(f, t, *symbols, code, o, out);
    if (rep) *rep = r;
    return out.s;
  }
  Trace trace() {
    Trace t;
    t.name = "hand.bts";
    t.records = kRecords;
    t.extended = true;
    return t;
  }
};

// flamegraph.pl's input: "frame;frame;... weight" per line.
std::map<std::string, std::uint64_t> read_folded(const std::string& text) {
  std::map<std::string, std::uint64_t> m;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.rfind(' ');
    REQUIRE(sp != std::string::npos);
    REQUIRE(m.emplace(line.substr(0, sp), std::stoull(line.substr(sp + 1))).second);  // each stack once
  }
  return m;
}

}  // namespace

TEST_CASE("folded: calls push, returns and irets pop, the caller the trace started under is found", "[export]") {
  Fixture fx;
  Report r;
  auto m = read_folded(fx.run(Format::Folded, fx.trace(), {}, &r));
  // Instructions decoded between records: main nop+call, then nop+jmp; f
  // the nop before the interrupt, then nop+ret; isr nop+iretq.
  std::map<std::string, std::uint64_t> want = {
      {"[trace];main", 4}, {"[trace];main;f", 3}, {"[trace];main;f;isr", 2}};
  CHECK(m == want);
  CHECK(r.records == 6);
  CHECK(r.undecoded_runs == 0);

  Options o;
  o.weight = Weight::Bytes;
  want = {{"[trace];main", 9}, {"[trace];main;f", 3}, {"[trace];main;f;isr", 3}};
  CHECK(read_folded(fx.run(Format::Folded, fx.trace(), o)) == want);
  o.weight = Weight::Branches;
  want = {{"[trace];main", 2}, {"[trace];main;f", 2}, {"[trace];main;f;isr", 1}};
  CHECK(read_folded(fx.run(Format::Folded, fx.trace(), o)) == want);
}

TEST_CASE("folded: calls that never return make stacks no deeper than 1024 frames", "[export]") {
  Fixture fx;
  std::vector<bts::Record> recs(3000, bts::Record{0x1001, 0x1010, 0});  // call f, again and again
  Trace t = fx.trace();
  t.records = recs;
  Options o;
  o.weight = Weight::Branches;
  Report r;
  auto m = read_folded(fx.run(Format::Folded, t, o, &r));
  std::size_t deepest = 0, total = 0;
  for (const auto& [stack, w] : m) {
    deepest = std::max<std::size_t>(deepest, std::count(stack.begin(), stack.end(), ';'));
    total += w;
  }
  CHECK(deepest == 1024 + 1);  // [trace];main;f;...;f: 1024 callers and the leaf
  CHECK(total == recs.size() - 1);
  CHECK(r.undecoded_runs == recs.size() - 1);  // f's code never leads to main's call
}

TEST_CASE("folded: kinds and icounts from a trace log are used as they are", "[export]") {
  Fixture fx;
  Trace t = fx.trace();
  std::vector<BranchKind> kinds = {BranchKind::Return, BranchKind::Call, BranchKind::Interrupt,
                                   BranchKind::EventReturn, BranchKind::Return, BranchKind::Jump};
  std::vector<std::uint64_t> icounts = {100, 110, 111, 113, 115, 117};
  t.kinds = kinds;
  t.icounts = icounts;
  std::map<std::string, std::uint64_t> want = {
      {"[trace];main", 12}, {"[trace];main;f", 3}, {"[trace];main;f;isr", 2}};
  CHECK(read_folded(fx.run(Format::Folded, t)) == want);
  // The kinds win over the code: a "jump" where the code has a call
  // pushes nothing, so f's last return goes below the start as well: the
  // trace started two frames deep, main under main.
  kinds[1] = BranchKind::Jump;
  want = {{"[trace];main;main", 10}, {"[trace];main;f", 3}, {"[trace];main;f;isr", 2}, {"[trace];main", 2}};
  CHECK(read_folded(fx.run(Format::Folded, t)) == want);
}

TEST_CASE("perf: each record as perf script --itrace=b -F ip,sym,symoff,dso,addr,flags prints a branch",
          "[export]") {
  Fixture fx;
  std::string text = fx.run(Format::Perf, fx.trace());
  // From perf-script(1): the flags field's names for known combinations
  // ("call", "return", "jcc", "jmp", "int", "iret", "syscall", "sysret",
  // "hw int", ...), then ip (hex), sym+0xsymoff, (dso), "=>", and the same
  // for addr.
  std::regex line(R"(^\s*(jcc|jmp|call|return|int|iret|syscall|sysret|async|hw int|tr strt|tr end)\s+)"
                  R"(([0-9a-f]+) (\S+?)\+0x([0-9a-f]+) \(([^)]+)\) => +([0-9a-f]+) (\S+?)\+0x([0-9a-f]+) \(([^)]+)\)$)");
  std::istringstream in(text);
  std::string l;
  std::vector<std::smatch> got;
  std::vector<std::string> lines;
  while (std::getline(in, l)) lines.push_back(l);
  REQUIRE(lines.size() == kRecords.size());
  const char* flags[] = {"return", "call", "hw int", "iret", "return", "jmp"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    INFO(lines[i]);
    REQUIRE(std::regex_match(lines[i], m, line));
    CHECK(m[1] == flags[i]);
    CHECK(std::stoull(m[2], nullptr, 16) == kRecords[i].from);
    CHECK(std::stoull(m[6], nullptr, 16) == kRecords[i].to);
    CHECK(m[5] == "prog.elf");
  }
  std::smatch m;
  REQUIRE(std::regex_match(lines[0], m, line));
  CHECK(m[3] == "f");
  CHECK(m[4] == "2");
  CHECK(m[7] == "main");
  CHECK(m[8] == "6");
}

TEST_CASE("drcov: version 2 header, module table, and one block per distinct run between records", "[export]") {
  Fixture fx;
  std::string text = fx.run(Format::Drcov, fx.trace());
  // A reader written from the format's description (docs/exports.md):
  // text lines up to "BB Table: N bbs", then N 8-byte entries.
  std::istringstream in(text);
  std::string l;
  std::getline(in, l);
  CHECK(l == "DRCOV VERSION: 2");
  std::getline(in, l);
  CHECK(l == "DRCOV FLAVOR: xentt");
  std::getline(in, l);
  CHECK(l == "Module Table: version 2, count 1");
  std::getline(in, l);
  CHECK(l == "Columns: id, base, end, entry, checksum, timestamp, path");
  std::getline(in, l);
  std::regex row(R"(^\s*(\d+), 0x([0-9a-f]+), 0x([0-9a-f]+), 0x[0-9a-f]+, 0x[0-9a-f]+, 0x[0-9a-f]+, (.*)$)");
  std::smatch m;
  REQUIRE(std::regex_match(l, m, row));
  CHECK(m[1] == "0");
  CHECK(std::stoull(m[2], nullptr, 16) == 0x1000);
  CHECK(std::stoull(m[3], nullptr, 16) == 0x1030);
  CHECK(m[4] == "prog.elf");
  std::getline(in, l);
  REQUIRE(std::regex_match(l, m, std::regex(R"(^BB Table: (\d+) bbs$)")));
  std::size_t n = std::stoul(m[1]);
  std::string rest(std::istreambuf_iterator<char>(in), {});
  REQUIRE(rest.size() == n * 8);
  std::set<std::pair<std::uint64_t, unsigned>> blocks;
  for (std::size_t i = 0; i < n; ++i) {
    auto u = [&](std::size_t off, int bytes) {
      std::uint64_t v = 0;
      for (int k = 0; k < bytes; ++k) v |= std::uint64_t(std::uint8_t(rest[i * 8 + off + k])) << (8 * k);
      return v;
    };
    CHECK(u(6, 2) == 0);  // module 0
    blocks.emplace(0x1000 + u(0, 4), unsigned(u(4, 2)));
  }
  // From each record's previous `to` to the end of its instruction (to
  // `from` itself for the interrupt, whose instruction did not retire).
  std::set<std::pair<std::uint64_t, unsigned>> want = {
      {0x1006, 6}, {0x1010, 1}, {0x1020, 3}, {0x1011, 2}, {0x100c, 3}};
  CHECK(blocks == want);
  CHECK(n == want.size());
}

TEST_CASE("perfetto: Chrome JSON with begin/end events that nest, names the functions", "[export]") {
  Fixture fx;
  auto j = nlohmann::json::parse(fx.run(Format::Perfetto, fx.trace()));
  std::vector<std::string> opened, stack;
  std::uint64_t last_ts = 0;
  for (const auto& e : j.at("traceEvents")) {
    std::string ph = e.at("ph");
    std::uint64_t ts = e.at("ts");
    CHECK(ts >= last_ts);
    last_ts = ts;
    if (ph == "B") {
      opened.push_back(e.at("name"));
      stack.push_back(e.at("name"));
    } else {
      REQUIRE(ph == "E");
      REQUIRE(!stack.empty());
      stack.pop_back();
    }
  }
  CHECK(stack.empty());
  CHECK(opened == std::vector<std::string>{"main", "f", "f", "isr"});
}

TEST_CASE("perfetto: with a trace log's icounts, time is instructions since the first record", "[export]") {
  Fixture fx;
  Trace t = fx.trace();
  std::vector<std::uint64_t> icounts = {100, 110, 111, 113, 115, 117};
  t.icounts = icounts;
  auto j = nlohmann::json::parse(fx.run(Format::Perfetto, t));
  CHECK(j["otherData"]["time"] == "instructions");
  std::vector<std::pair<std::string, std::uint64_t>> ev;
  for (const auto& e : j["traceEvents"]) ev.emplace_back(e["ph"], e["ts"]);
  // main and f open at the start; f returns (record 0), is called (1), isr
  // entered (2), left (3), f returns (4); main ends with the trace.
  std::vector<std::pair<std::string, std::uint64_t>> want = {
      {"B", 0}, {"B", 0}, {"E", 0}, {"B", 10}, {"B", 11}, {"E", 13}, {"E", 15}, {"E", 17}};
  CHECK(ev == want);
}

// Protobuf's wire format, read by hand: (field, wire type, value or bytes).
struct PbField {
  unsigned field, wire;
  std::uint64_t v = 0;
  std::string bytes;
};
static std::vector<PbField> read_pb(std::string_view b) {
  std::vector<PbField> out;
  std::size_t i = 0;
  auto varint = [&] {
    std::uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
      REQUIRE(i < b.size());
      std::uint8_t c = std::uint8_t(b[i++]);
      v |= std::uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
  };
  while (i < b.size()) {
    std::uint64_t k = varint();
    PbField f{unsigned(k >> 3), unsigned(k & 7), 0, {}};
    if (f.wire == 0) {
      f.v = varint();
    } else {
      REQUIRE(f.wire == 2);
      std::uint64_t n = varint();
      REQUIRE(i + n <= b.size());
      f.bytes = std::string(b.substr(i, n));
      i += n;
    }
    out.push_back(f);
  }
  return out;
}

TEST_CASE("perfetto-proto: a Trace of TracePackets, slices begin and end on one described track", "[export]") {
  Fixture fx;
  std::string pb = fx.run(Format::PerfettoProto, fx.trace());
  // perfetto/trace/trace.proto: Trace { repeated TracePacket packet = 1; }
  // TracePacket { timestamp = 8; trusted_packet_sequence_id = 10; track_event = 11; track_descriptor = 60; }
  // TrackEvent { type = 9 (1 SLICE_BEGIN, 2 SLICE_END); track_uuid = 11; name = 23; }
  // TrackDescriptor { uuid = 1; name = 2; }
  auto packets = read_pb(pb);
  REQUIRE(packets.size() == 1 + 8);
  std::uint64_t track = 0;
  std::vector<std::string> opened;
  int depth = 0;
  for (std::size_t k = 0; k < packets.size(); ++k) {
    REQUIRE(packets[k].field == 1);
    std::map<unsigned, PbField> p;
    for (auto& f : read_pb(packets[k].bytes)) p[f.field] = f;
    CHECK(p.count(10));
    if (k == 0) {
      REQUIRE(p.count(60));
      for (auto& f : read_pb(p[60].bytes))
        if (f.field == 1) track = f.v;
      CHECK(track != 0);
      continue;
    }
    REQUIRE(p.count(11));
    REQUIRE(p.count(8));
    std::map<unsigned, PbField> ev;
    for (auto& f : read_pb(p[11].bytes)) ev[f.field] = f;
    CHECK(ev[11].v == track);
    if (ev[9].v == 1) {
      opened.push_back(ev[23].bytes);
      ++depth;
    } else {
      REQUIRE(ev[9].v == 2);
      --depth;
      REQUIRE(depth >= 0);
    }
  }
  CHECK(depth == 0);
  CHECK(opened == std::vector<std::string>{"main", "f", "f", "isr"});
}

TEST_CASE("exports: random records and random code give well-formed output in every format", "[export]") {
  // Garbage in (addresses in and out of the code, mid-instruction, kinds
  // that contradict it, random bytes as code): every writer still ends
  // with well-formed output, balanced slices and decodable blocks.
  std::uint64_t seed = 12345;
  auto rnd = [&] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return seed >> 33;
  };
  std::vector<std::uint8_t> junk(0x400);
  for (auto& b : junk) b = std::uint8_t(rnd());
  Fixture fx;
  fx.code.add(0x2000, junk, "junk.bin");
  std::vector<bts::Record> recs(20000);
  std::vector<BranchKind> kinds(recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i) {
    auto addr = [&] { return rnd() % 8 == 0 ? rnd() : (rnd() % 2 ? 0x1000 : 0x2000) + rnd() % 0x400; };
    recs[i] = {addr(), addr(), i};
    kinds[i] = BranchKind(1 + rnd() % 11);
  }
  for (bool with_kinds : {false, true}) {
    Trace t = fx.trace();
    t.records = recs;
    if (with_kinds) t.kinds = kinds;
    read_folded(fx.run(Format::Folded, t));
    auto j = nlohmann::json::parse(fx.run(Format::Perfetto, t));
    int depth = 0;
    for (const auto& e : j["traceEvents"]) {
      depth += e["ph"] == "B" ? 1 : -1;
      REQUIRE(depth >= 0);
    }
    CHECK(depth == 0);
    std::string perf = fx.run(Format::Perf, t);
    CHECK(std::count(perf.begin(), perf.end(), '\n') == std::ptrdiff_t(recs.size()));
    std::string drcov = fx.run(Format::Drcov, t);
    auto at = drcov.find("BB Table: ");
    REQUIRE(at != std::string::npos);
    auto nl = drcov.find('\n', at);
    CHECK(drcov.size() - nl - 1 == 8 * std::stoull(drcov.substr(at + 10)));
    CHECK(read_pb(fx.run(Format::PerfettoProto, t)).size() > 1);
  }
}

TEST_CASE("exports: unknown names, and code that cannot be classified, are bad input", "[export]") {
  CHECK(!parse_format("flame"));
  CHECK(parse_format("drcov") == Format::Drcov);
  CHECK(format_names() == "folded, perf, drcov, perfetto, perfetto-proto");
  CHECK(!parse_weight("cycles"));
  Fixture fx;
  CodeImage no_code;  // a System.map only: no bytes, and a .bts has no kinds
  StringSink out;
  auto msg = test::message_of([&] { write_export(Format::Folded, fx.trace(), *fx.symbols, no_code, {}, out); });
  CHECK(msg.find("needs the code") != std::string::npos);
  CHECK(msg.find("hand.bts") != std::string::npos);
  CHECK(test::status_of([&] { write_export(Format::Drcov, fx.trace(), *fx.symbols, no_code, {}, out); }) == 2);
}

// The demo guest's ELF: $XENTT_GUEST, else the build tree's; "" where there
// is none (the sanitizer tree is built without the guest: the full suite
// runs these).
std::string demo_guest_elf() {
  if (const char* g = std::getenv("XENTT_GUEST"); g && *g) return g;
  std::string elf = XENTT_BINARY_DIR "/guest/demo.elf";
  return std::filesystem::exists(elf) ? elf : "";
}

TEST_CASE("code image: the demo guest's code at its addresses; a damaged ELF is an error, or a warning", "[export]") {
  std::string elf = demo_guest_elf();
  if (elf.empty()) SKIP("no demo guest in this build tree (the demo_guest target builds it; or set XENTT_GUEST)");
  auto img = CodeImage::from_maps({sym::parse_symmap(elf)});
  REQUIRE(img->modules().size() == 1);
  CHECK(img->modules()[0].has_code);
  CHECK(img->modules()[0].base == 0x100000);  // the demo's link address (guest/demo.ld)
  CHECK(img->at(0x100000).size() > 0);
  CHECK(img->at(0x1000).empty());
  // The map's range and bias move and cut the code.
  auto moved = CodeImage::from_maps({sym::parse_symmap(elf + "@200000-200010+100000")});
  REQUIRE(moved->at(0x200000).size() == 0x10);
  CHECK(moved->at(0x200000)[0] == img->at(0x100000)[0]);
  CHECK(moved->at(0x200010).empty());

  test::TempDir dir;
  std::string bad = (dir.path / "bad.elf").string();
  std::string header(64, '\0');
  header.replace(0, 5, "\x7f" "ELF\x02");
  header[56] = 0x10;  // e_phnum: 16 program headers, none in the file
  header[54] = 56;    // e_phentsize
  header[32] = 64;    // e_phoff
  std::ofstream(bad, std::ios::binary) << header;
  CHECK(test::message_of([&] { CodeImage::from_maps({sym::parse_symmap(bad)}); }).find("bad.elf: damaged ELF") != std::string::npos);
  std::vector<std::string> warnings;
  auto lenient = CodeImage::from_maps({sym::parse_symmap(bad), sym::parse_symmap(elf)},
                                      [&](const std::string& w) { warnings.push_back(w); });
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("bad.elf") != std::string::npos);
  REQUIRE(lenient->modules().size() == 2);
  CHECK(!lenient->modules()[0].has_code);
  CHECK(lenient->module_of(0x100000, true) == 1);
}

// objdump -d -w: "  ADDR:\tBYTES \tMNEMONIC OPERANDS", one instruction a line.
static void compare_with_objdump(const std::string& elf, std::size_t limit) {
  std::string cmd = "objdump -d -w " + elf + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
  REQUIRE(p);
  auto image = CodeImage::from_maps({sym::parse_symmap(elf)});
  std::regex line(R"(^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t(\S+)\s*(.*)$)");
  char buf[4096];
  std::size_t checked = 0, branches = 0;
  while (checked < limit && std::fgets(buf, sizeof buf, p.get())) {
    std::string l(buf);
    if (!l.empty() && l.back() == '\n') l.pop_back();
    std::smatch m;
    if (!std::regex_match(l, m, line)) continue;
    std::string mn = m[3], ops = m[4];
    // Prefixes objdump prints as words of their own.
    static const std::set<std::string> kPrefixes = {"notrack", "bnd", "rep", "repz", "repnz", "repe", "repne", "ds",
                                                    "cs", "data16", "addr32", "lock", "rex", "rex.W", "xacquire",
                                                    "xrelease", "fs", "gs", "ss", "es"};
    while (kPrefixes.count(mn) && !ops.empty()) {
      auto sp = ops.find_first_of(" \t");
      mn = ops.substr(0, sp);
      ops = sp == std::string::npos ? "" : ops.substr(ops.find_first_not_of(" \t", sp));
    }
    if (mn == "(bad)" || mn.find("bad") != std::string::npos) continue;
    std::uint64_t addr = std::stoull(m[1], nullptr, 16);
    std::size_t len = m[2].str().size() / 3;
    auto bytes = image->at(addr);
    if (bytes.empty()) continue;  // not in an executable segment
    Insn in = decode_insn(bytes.data(), bytes.size(), addr);
    INFO(elf << ": " << l);
    REQUIRE(in.length == len);
    ++checked;
    // Branches: the mnemonic says which; direct ones name their target.
    if (mn == "lretq" || mn == "lret" || mn == "ljmp" || mn == "lcall") mn = mn.substr(1);  // far forms
    bool call = mn.rfind("call", 0) == 0, ret = mn.rfind("ret", 0) == 0, iret = mn.rfind("iret", 0) == 0;
    bool jmp = mn.rfind("jmp", 0) == 0, jcc = (!jmp && mn[0] == 'j') || mn.rfind("loop", 0) == 0;
    bool indirect = !ops.empty() && ops[0] == '*';
    if (call) CHECK(in.kind == (indirect ? BranchKind::IndirectCall : BranchKind::Call));
    if (ret) CHECK(in.kind == BranchKind::Return);
    if (iret) CHECK(in.kind == BranchKind::EventReturn);
    if (jmp) CHECK(in.kind == (indirect ? BranchKind::IndirectJump : BranchKind::Jump));
    if (jcc) CHECK(in.kind == BranchKind::CondJump);
    if (mn == "syscall") CHECK((in.kind == BranchKind::SoftInterrupt && in.system));
    CHECK(in.branch == (call || ret || iret || jmp || jcc || mn == "syscall" || mn == "sysret" || mn == "sysretq" ||
                        mn == "int" || mn == "int3" || mn == "sysenter" || mn == "sysexit" || mn == "int1" ||
                        mn == "icebp" || mn == "rsm"));
    if ((call || jmp || jcc) && !indirect && !ops.empty() && std::isxdigit(static_cast<unsigned char>(ops[0]))) {
      CHECK(in.direct);
      CHECK(in.target == std::stoull(ops, nullptr, 16));
      ++branches;
    }
  }
  INFO(elf);
  CHECK(checked > 100);
  CHECK(branches > 10);
}

TEST_CASE("the instruction decoder agrees with objdump on a Linux kernel image", "[export]") {
  // Kernel code: control registers, MSRs, XSAVE, VMX, alternatives' NOP
  // forms. Where Debian's -dbg package is installed; skipped elsewhere.
  std::string vmlinux;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/debug/boot", ec))
    if (e.path().filename().string().starts_with("vmlinux-")) vmlinux = e.path().string();
  if (vmlinux.empty()) SKIP("no /usr/lib/debug/boot/vmlinux-* (install the kernel's -dbg package)");
  compare_with_objdump(vmlinux, 300000);
}

TEST_CASE("the instruction decoder agrees with objdump on the demo guest and on libc", "[export]") {
  if (std::string demo = demo_guest_elf(); !demo.empty())
    compare_with_objdump(demo, ~std::size_t(0));
  else
    WARN("no demo guest in this build tree: only libc is compared here (the full suite compares both)");
  // Real compiler output with VEX and EVEX code (libc's string functions).
  for (const char* libc : {"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"}) {
    if (std::ifstream(libc)) {
      compare_with_objdump(libc, 400000);
      break;
    }
  }
}
