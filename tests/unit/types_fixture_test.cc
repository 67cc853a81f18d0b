// Typed reads against a real DWARF fixture (tests/data/types/types_fixture.c,
// built with gcc -g): every expected string follows from the initializers
// in that C source and gdb's `print` notation, never from running the code
// under test. Addresses come from the ELF symbol table (types_util.h).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "tests/unit/types_util.h"
#include "tests/unit/unit_util.h"
#include "xentt/symbolize/debug_types.h"
#include "xentt/vmi/list_walk.h"
#include "xentt/vmi/per_cpu.h"
#include "xentt/vmi/typed_value.h"
#include "xentt/vmi/value_printer.h"

using namespace xentt;
using Catch::Matchers::ContainsSubstring;

namespace {

const std::string kFixture = XENTT_BINARY_DIR "/tests/data/types/types_fixture.elf";

const std::string kFixtureDwarf3 = XENTT_BINARY_DIR "/tests/data/types/types_fixture_dwarf3.elf";

struct Fixture {
  explicit Fixture(const std::string& path = kFixture)
      : types(sym::DebugTypes::open(path)), memory(path), cx(*types, memory) {}
  std::unique_ptr<sym::DebugTypes> types;
  test::ElfSectionMemory memory;
  vmi::EvalContext cx;

  std::string print(const std::string& expr) { return vmi::format_value(cx, vmi::evaluate(cx, expr)); }
  std::string json(const std::string& expr) { return vmi::value_json(cx, vmi::evaluate(cx, expr)).dump(); }
  std::string error(const std::string& expr) { return test::message_of([&] { print(expr); }); }
};

std::uint64_t sym_addr(const char* name) { return test::elf_symbol(kFixture, name); }
std::string hex(std::uint64_t v) { return fmt::format("0x{:x}", v); }

}  // namespace

TEST_CASE("types: integers, enums, typedefs and bools print as gdb prints them", "[types]") {
  Fixture f;
  CHECK(f.print("answer") == "42");
  CHECK(f.print("negative") == "-7");
  CHECK(f.print("aliased") == "9");
  CHECK(f.print("favourite") == "GREEN");
  CHECK(f.print("odd_color") == "3");  // no enumerator has the value
  CHECK(f.print("sample.col") == "BLUE");
  CHECK(f.print("sample.uc") == "200 '\\310'");
  CHECK(f.print("sample.in.tag") == "113 'q'");
  CHECK(f.print("sample.big") == "18364758544493064720");
  CHECK(f.print("sample.ratio") == "2.5");
  CHECK(f.print("sample.f") == "0.25");
  CHECK(f.print("sample.ok") == "true");
  CHECK(f.print("alias_counter") == "1");  // declared only: the ELF symbol's address, DWARF's type
}

TEST_CASE("types: char arrays are strings, with gdb's escapes and repeats", "[types]") {
  Fixture f;
  CHECK(f.print("greeting") == "\"hello\\tworld\\n\"");
  CHECK(f.print("buf") == "\"hi\", '\\000' <repeats 29 times>");
  CHECK(f.print("dots") == "\"....\"");  // no terminator: all four shown
  CHECK(f.print("sample.name") == "\"abc\\000\\000\\000\\000\"");
  // DWARF declares `const char unsized_text[]`; its ELF symbol is 12 bytes.
  CHECK(f.print("unsized_text") == "\"eleven char\"");
  CHECK(vmi::evaluate(f.cx, "unsized_text").type->c_name() == "const char [12]");
}

TEST_CASE("types: arrays, repeats and the 200-element limit", "[types]") {
  Fixture f;
  CHECK(f.print("counters") == "{1, 2, 3}");
  CHECK(f.print("counters[2]") == "3");
  CHECK(f.print("seq") == "{1, 2, 3, 0 <repeats 253 times>}");
  std::string ramp;
  for (int i = 0; i < 200; ++i) ramp += (i ? ", " : "") + std::to_string(i);
  CHECK(f.print("ramp") == "{" + ramp + "...}");
  CHECK(f.print("sample.grid") == "{{1, 2, 3}, {4, 5, 6}}");
  CHECK(f.print("sample.grid[1]") == "{4, 5, 6}");
  CHECK(f.print("sample.grid[1][2]") == "6");
  CHECK(f.print("flex_obj.data[1]") == "20");
  CHECK(f.print("flex_obj") == "{n = 2, data = " + hex(sym_addr("flex_obj") + 4) + "}");
  CHECK(f.print("zero_obj") == "{n = 7, tail = " + hex(sym_addr("zero_obj") + 4) + " \"\"}");
}

// gdb 13 printed the same for `print sample` (plus `<sample>`-style
// symbol names after pointers, which this layer does not look up).
TEST_CASE("types: structs, unions, bitfields and anonymous members", "[types]") {
  Fixture f;
  CHECK(f.print("sample.bf") == "{a = 5, b = -6, c = 11259375, flag = true, wide = 78187493530}");
  CHECK(f.print("sample.bf.b") == "-6");
  CHECK(f.print("sample.bf.wide") == "78187493530");
  CHECK(f.print("sample.un") == "{value = 1684234849, bytes = \"abcd\"}");
  CHECK(f.print("sample.x") == "10");
  CHECK(f.print("sample.pair[1]") == "{s = 2, tag = 98 'b'}");
  std::uint64_t sample = sym_addr("sample");
  std::string want = "{i = -3, uc = 200 '\\310', name = \"abc\\000\\000\\000\\000\", in = {s = -2, tag = 113 'q'}, "
                     "pair = {{s = 1, tag = 97 'a'}, {s = 2, tag = 98 'b'}}, grid = {{1, 2, 3}, {4, 5, 6}}, "
                     "un = {value = 1684234849, bytes = \"abcd\"}, col = BLUE, "
                     "bf = {a = 5, b = -6, c = 11259375, flag = true, wide = 78187493530}, {x = 10, y = 20}, "
                     "big = 18364758544493064720, ratio = 2.5, f = 0.25, ok = true, self = " +
                     hex(sample) + ", callback = " + hex(sym_addr("fixture_callback")) +
                     ", msg = MSG \"message\", hidden = 0x0}";
  // The string literal has no symbol: its address is masked.
  auto masked = [](std::string s) { return std::regex_replace(s, std::regex("0x[0-9a-f]+ \"message\""), "MSG \"message\""); };
  CHECK(masked(f.print("sample")) == want);
  CHECK(masked(f.print("*sample_ptr")) == want);
  CHECK(masked(f.print("*sample.self")) == want);
  // DWARF 3 places bitfields by DW_AT_bit_offset (from the top bit of a
  // storage unit), DWARF 5 by DW_AT_data_bit_offset: the same values.
  Fixture old(kFixtureDwarf3);
  CHECK(masked(old.print("sample")) == want);
  CHECK(old.print("sample.bf.b") == "-6");
  CHECK(old.print("sample.bf.wide") == "78187493530");
}

TEST_CASE("types: pointers, address-of, member access through pointers, casts", "[types]") {
  Fixture f;
  std::uint64_t sample = sym_addr("sample");
  CHECK(f.print("sample_ptr") == "(struct outer *) " + hex(sample));
  CHECK(f.print("&sample") == "(struct outer *) " + hex(sample));
  CHECK(f.print("void_ptr") == "(void *) " + hex(sym_addr("answer")));
  CHECK(f.print("null_ptr") == "(struct outer *) 0x0");
  CHECK(f.print("sample_ptr->in.tag") == "113 'q'");
  CHECK(f.print("sample_ptr->self->self->i") == "-3");
  CHECK(f.print("(*sample_ptr).i") == "-3");
  CHECK(f.print("sample.callback") == "(void (*)(void)) " + hex(sym_addr("fixture_callback")));
  CHECK_THAT(f.print("items[2].name"), Catch::Matchers::Matches("0x[0-9a-f]+ \"three\""));
  CHECK(f.print("*items[0].name") == "111 'o'");
  CHECK(f.print("((struct outer *)" + hex(sample) + ")->i") == "-3");
  CHECK(f.print("((struct item *)&items[1])->id") == "2");
  CHECK(f.print("(unsigned char)answer") == "42 '*'");
  CHECK(f.print("(long)sample.i") == "-3");
  CHECK(f.print("*(int *)" + hex(sym_addr("answer"))) == "42");
  CHECK(f.print("0x10") == "16");
  CHECK(f.print("-answer") == "-42");
  CHECK(f.print("answer - 50") == "-8");
  CHECK(f.print("(answer) - 50") == "-8");  // not a cast: answer is no type
  CHECK(f.print("(long) - 50") == "-50");   // a cast
  CHECK(f.print("counters[0] + counters[2] - 1") == "3");
  CHECK(f.print("*(counters + 1)") == "2");
  CHECK(f.print("counters[3 - 1]") == "3");
  CHECK(f.print("&counters[2] - &counters[0]") == "2");
  CHECK(f.print("sample_ptr + 1") == "(struct outer *) " + hex(sample + 144));  // sizeof(struct outer)
  CHECK(f.print("1 + sample_ptr") == "(struct outer *) " + hex(sample + 144));
  CHECK(f.print("void_ptr + 1") == "(void *) " + hex(sym_addr("answer") + 1));
  // container_of by hand: link is at offset 16 in struct item.
  CHECK(f.print("((struct item *)((char *)items[0].link.next - 16))->id") == "2");
  CHECK_THAT(f.error("sample + 1"), ContainsSubstring("'sample' is not an integer or pointer"));
  CHECK_THAT(f.error("sample_ptr + sample_ptr"), ContainsSubstring("pointers only subtract"));
  CHECK_THAT(f.error("1 - sample_ptr"), ContainsSubstring("cannot subtract a pointer from an integer"));
}

TEST_CASE("types: C type names", "[types]") {
  Fixture f;
  auto type_of = [&](const std::string& e) { return vmi::evaluate(f.cx, e).type->c_name(); };
  CHECK(type_of("aliased") == "int_alias_t");
  CHECK(type_of("greeting") == "const char [13]");
  CHECK(type_of("sample.grid") == "int [2][3]");
  CHECK(type_of("sample.grid[0]") == "int [3]");
  CHECK(type_of("sample.callback") == "void (*)(void)");
  CHECK(type_of("sample.msg") == "const char *");
  CHECK(type_of("&sample.grid") == "int (*)[2][3]");
  CHECK(type_of("alias_counter") == "volatile u64");
  CHECK(type_of("flex_obj.data") == "int []");
  const sym::Type& color = f.types->type("enum color");
  REQUIRE(color.enumerators.size() == 3);
  CHECK(color.enumerators[2].name == "BLUE");
  CHECK(color.enumerators[2].value == -1);
  CHECK(&f.types->type("item") == &f.types->type("struct item"));
  CHECK(f.types->type("struct opaque").declaration);
  CHECK(f.types->type("union word").members.size() == 2);
  CHECK(f.types->member(&f.types->type("struct bits"), "wide").bit_size == 40);
  CHECK(f.types->find_type("struct nope") == nullptr);
  CHECK(&f.types->type("unsigned long") == &f.types->type("long unsigned int"));
}

TEST_CASE("types: JSON rendering", "[types]") {
  Fixture f;
  auto j = vmi::value_json(f.cx, vmi::evaluate(f.cx, "sample.in"));
  CHECK(j["expr"] == "sample.in");
  CHECK(j["type"] == "struct inner");
  CHECK(j["value"].dump() == R"({"s":-2,"tag":113})");
  CHECK(f.json("sample.bf") ==
        R"({"address":")" + hex(sym_addr("sample") + 64)  // offsetof(struct outer, bf): 64 (gdb ptype/o agrees)
            +
            R"(","expr":"sample.bf","type":"struct bits","value":{"a":5,"b":-6,"c":11259375,"flag":true,"wide":78187493530}})");
  CHECK(f.json("buf") == R"({"address":")" + hex(sym_addr("buf")) + R"(","expr":"buf","type":"char [32]","value":"hi"})");
  CHECK(f.json("favourite") == R"({"address":")" + hex(sym_addr("favourite")) +
                                   R"(","expr":"favourite","type":"enum color","value":"GREEN"})");
  CHECK(f.json("&sample") == R"({"address":null,"expr":"&sample","type":"struct outer *","value":")" +
                                 hex(sym_addr("sample")) + R"("})");
  auto whole = vmi::value_json(f.cx, vmi::evaluate(f.cx, "sample"))["value"];
  CHECK(whole["x"] == 10);  // anonymous members' fields merged
  CHECK(whole["ratio"] == 2.5);
  CHECK(whole["grid"].dump() == "[[1,2,3],[4,5,6]]");
  CHECK(whole["name"] == "abc");
  CHECK(whole["big"] == 18364758544493064720ull);
}

TEST_CASE("types: errors name what was asked and where", "[types]") {
  Fixture f;
  CHECK(f.error("*null_ptr") == "*null_ptr: guest-virtual address 0x0: not mapped");
  CHECK(f.error("null_ptr->i") == "null_ptr->i: guest-virtual address 0x0: not mapped");
  CHECK(f.error("null_ptr->self->i") == "null_ptr->self: guest-virtual address 0x70: not mapped");
  CHECK(f.error("nosuch") == "no global variable 'nosuch' in " + kFixture);
  CHECK_THAT(f.error("sample.nope"),
             ContainsSubstring("'struct outer' has no member 'nope'; it has i, uc, name, in, pair, grid, un, col"));
  CHECK_THAT(f.error("sample.hidden->x"), ContainsSubstring("'struct opaque' is only declared"));
  CHECK_THAT(f.error("*void_ptr"), ContainsSubstring("cannot dereference 'void_ptr' of type void *"));
  CHECK_THAT(f.error("answer.x"), ContainsSubstring("'int' is not a struct or union"));
  CHECK_THAT(f.error("answer[1]"), ContainsSubstring("'answer' is not an array or pointer"));
  CHECK(f.error("sample.") == "expression 'sample.', column 8: expected a field name");
  CHECK_THAT(f.error("answer % 1"), ContainsSubstring("column 8: unexpected '%'"));
  CHECK_THAT(f.error("answer answer"), ContainsSubstring("column 8: unexpected 'answer'"));
  CHECK_THAT(f.error("(struct nope *)0"), ContainsSubstring("no type 'struct nope'"));
  CHECK_THAT(f.error("(sample"), ContainsSubstring("expected ')'"));
  CHECK_THAT(f.error(std::string(100000, '(') + "answer"), ContainsSubstring("nested more than 200 deep"));
  CHECK(f.print(std::string(150, '(') + "answer" + std::string(150, ')')) == "42");
  CHECK(test::status_of([&] { f.print("nosuch"); }) == 2);
}

TEST_CASE("types: per-CPU variables need a CPU; the KASLR slide moves the rest", "[types]") {
  Fixture f;
  CHECK_THAT(f.error("cpu_counter"), ContainsSubstring("'cpu_counter' is a per-CPU variable"));
  auto v = f.types->variable("cpu_counter");
  CHECK(v.per_cpu);
  CHECK_FALSE(f.types->variable("answer").per_cpu);
  f.cx.per_cpu_offset = [] { return std::uint64_t{0}; };
  CHECK(f.print("cpu_counter") == "5");
  f.cx.per_cpu_offset = [] { return std::uint64_t{0x1000}; };
  CHECK(f.print("&cpu_counter") == "(int *) " + hex(sym_addr("cpu_counter") + 0x1000));

  f.cx.per_cpu_offset = vmi::kernel_per_cpu_offset(f.cx, 0);  // __per_cpu_offset[] = {0, 0x10}
  CHECK(f.print("cpu_counter") == "5");
  f.cx.per_cpu_offset = vmi::kernel_per_cpu_offset(f.cx, 1);
  CHECK(f.print("&cpu_counter") == "(int *) " + hex(sym_addr("cpu_counter") + 0x10));
  f.cx.per_cpu_offset = vmi::kernel_per_cpu_offset(f.cx, 1000000);  // far past the array: unmapped
  CHECK_THAT(f.error("cpu_counter"), ContainsSubstring("__per_cpu_offset[1000000]: guest-virtual address 0x"));

  const std::uint64_t slide = 0x40000000;
  test::ElfSectionMemory moved(kFixture, slide);
  vmi::EvalContext cx{*f.types, moved, slide};
  CHECK(vmi::format_value(cx, vmi::evaluate(cx, "answer")) == "42");
  CHECK(vmi::format_value(cx, vmi::evaluate(cx, "&answer")) == "(int *) " + hex(sym_addr("answer") + slide));
  // Without the slide, the link-time address is not mapped.
  vmi::EvalContext unslid{*f.types, moved};
  CHECK(test::message_of([&] { vmi::format_value(unslid, vmi::evaluate(unslid, "answer")); }) ==
        "answer: guest-virtual address " + hex(sym_addr("answer")) + ": not mapped");
}

TEST_CASE("types: list walks find the entries and stop on hostile lists", "[types]") {
  Fixture f;
  const std::uint64_t items = sym_addr("items"), item_size = 32;  // int, pad, char *, list_head
  auto walk = [&](const char* head, std::size_t limit = 100) {
    return vmi::walk_list(f.cx, sym_addr(head), "struct item", "link", limit);
  };
  CHECK(walk("items_head") == std::vector<std::uint64_t>{items, items + item_size, items + 2 * item_size});
  CHECK(walk("empty_head").empty());
  CHECK_THAT(test::message_of([&] { walk("items_head", 2); }), ContainsSubstring("more than 2 entries"));
  CHECK_THAT(test::message_of([&] { walk("loop_head"); }), ContainsSubstring("a cycle that skips the head"));
  CHECK_THAT(test::message_of([&] { walk("broken_head"); }),
             ContainsSubstring("struct item list entry 0 at " + hex(sym_addr("broken_items")) + ": its link.next is NULL"));
  CHECK_THAT(test::message_of([&] { vmi::walk_list(f.cx, sym_addr("items_head"), "struct item", "nope"); }),
             ContainsSubstring("'struct item' has no member 'nope'; it has id, name, link"));
}

TEST_CASE("types: files without DWARF are refused with what to do", "[types]") {
  test::TempDir dir;
  std::string path = (dir.path / "plain.elf").string();
  REQUIRE(std::system(("objcopy --strip-debug " + kFixture + " " + path).c_str()) == 0);
  std::string msg = test::message_of([&] { sym::DebugTypes::open(path); });
  CHECK_THAT(msg, ContainsSubstring(path + ": no DWARF debug info"));
  CHECK_THAT(msg, ContainsSubstring("-dbg"));
  CHECK_THAT(msg, ContainsSubstring("-g"));
  CHECK(test::status_of([&] { sym::DebugTypes::open(path); }) == 2);
  std::string src = XENTT_SOURCE_DIR "/tests/data/types/types_fixture.c";
  CHECK(test::message_of([&] { sym::DebugTypes::open(src); }) == src + ": not an ELF file");
  CHECK_THAT(test::message_of([&] { sym::DebugTypes::open(path + ".absent"); }), ContainsSubstring("No such file"));
}

TEST_CASE("types: a type chain too deep for the stack is refused, not a crash", "[types]") {
  // 2100 typedefs, each naming the one before: legal C, and deeper than
  // any real program's types (Debian's vmlinux: 88) or the builder's limit.
  test::TempDir dir;
  std::string src = (dir.path / "deep.c").string(), elf = (dir.path / "deep.elf").string();
  {
    std::FILE* f = std::fopen(src.c_str(), "w");
    REQUIRE(f);
    std::fprintf(f, "typedef int t0;\n");
    for (int i = 1; i <= 2100; ++i) std::fprintf(f, "typedef t%d t%d;\n", i - 1, i);
    std::fprintf(f, "t2100 deep = 1;\nt10 shallow = 2;\nvoid _start(void) {}\n");
    std::fclose(f);
  }
  REQUIRE(std::system(("gcc -g -O0 -nostdlib -static -no-pie -o " + elf + " " + src).c_str()) == 0);
  auto types = sym::DebugTypes::open(elf);
  CHECK_THAT(test::message_of([&] { types->variable("deep"); }), ContainsSubstring("DWARF types nest more than 2000 deep"));
  // Half-built types are never handed out afterwards.
  CHECK_THAT(test::message_of([&] { types->variable("shallow"); }), ContainsSubstring("nest more than 2000 deep"));
  // A fresh DebugTypes reads the shallow one.
  test::ElfSectionMemory memory(elf);
  auto fresh = sym::DebugTypes::open(elf);
  vmi::EvalContext cx(*fresh, memory);
  CHECK(vmi::format_value(cx, vmi::evaluate(cx, "shallow")) == "2");
  CHECK(fresh->variable("shallow").type->c_name() == "t10");
}
