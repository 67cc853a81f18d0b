// Finding separate debug files (DebugFileFinder) and demangled names: the
// places looked, what is refused and said once, c++filt's spelling.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "symbolize/src/debug_links.h"
#include "unit_util.h"
#include "xentt/base/hex.h"
#include "xentt/base/le_bytes.h"
#include "xentt/symbolize/debug_file.h"
#include "xentt/symbolize/printer.h"
#include "xentt/symbolize/symbol_file.h"
#include "xentt/symbolize/symbolizer.h"

using namespace xentt;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

// This test program: an ELF with a build-id (the linker's default) and DWARF.
const char kSelf[] = "/proc/self/exe";
// A small ELF linked with --build-id=none (tests/CMakeLists.txt).
const std::string kNoBuildId = XENTT_BINARY_DIR "/tests/data/types/types_fixture.elf";

std::string self_path() { return fs::read_symlink(kSelf).string(); }

struct Warnings {
  std::vector<std::string> said;
  sym::DebugFileFinder::Warn fn() {
    return [this](const std::string& w) { said.push_back(w); };
  }
};

std::uint32_t crc_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return le::crc32_of(0, bytes.data(), bytes.size());
}

}  // namespace

TEST_CASE("debug links: this program's build-id, read from its notes", "[debugfile]") {
  std::string id = sym::read_build_id(self_path());
  REQUIRE(id.size() >= 8);  // GNU ld's default is SHA-1: 20 bytes
  CHECK(hex_encode(id).size() == id.size() * 2);
  CHECK(hex_encode(std::string("\x01\xab", 2)) == "01ab");
  CHECK(sym::read_build_id(kNoBuildId).empty());
  CHECK(sym::read_build_id("/nonexistent/file").empty());
}

TEST_CASE("debug-file directories: $XENTT_DEBUG_FILE_DIRECTORY, else /usr/lib/debug", "[debugfile]") {
  const char* old = ::getenv("XENTT_DEBUG_FILE_DIRECTORY");
  std::string saved = old ? old : "";
  ::setenv("XENTT_DEBUG_FILE_DIRECTORY", "/a::/b/c:", 1);
  CHECK(sym::default_debug_file_dirs() == std::vector<std::string>{"/a", "/b/c"});
  ::unsetenv("XENTT_DEBUG_FILE_DIRECTORY");
  CHECK(sym::default_debug_file_dirs() == std::vector<std::string>{"/usr/lib/debug"});
  if (old) ::setenv("XENTT_DEBUG_FILE_DIRECTORY", saved.c_str(), 1);
}

TEST_CASE("by build-id: DIR/.build-id/xx/rest.debug with that build-id is found, another is refused", "[debugfile]") {
  test::TempDir t;
  std::string id = sym::read_build_id(self_path());
  REQUIRE(!id.empty());
  std::string hex = hex_encode(id);
  fs::path at = t.path / ".build-id" / hex.substr(0, 2) / (hex.substr(2) + ".debug");
  fs::create_directories(at.parent_path());
  sym::DebugLinks links;
  links.build_id = id;
  std::string main_file = (t.path / "stripped").string();  // the file whose debug file is looked for

  SECTION("the right file") {
    fs::copy_file(self_path(), at);
    Warnings w;
    sym::DebugFileFinder f({{t.path.string()}, false}, w.fn());
    auto got = f.find_debug_file(main_file, links);
    REQUIRE(got);
    CHECK(*got == at.string());
    CHECK(w.said.empty());
  }
  SECTION("a file with another build-id (here: none) is refused, naming both ids, once") {
    fs::copy_file(kNoBuildId, at);
    Warnings w;
    sym::DebugFileFinder f({{t.path.string()}, false}, w.fn());
    CHECK(!f.find_debug_file(main_file, links));
    CHECK(!f.find_debug_file(main_file, links));
    REQUIRE(w.said.size() == 1);
    CHECK_THAT(w.said[0], ContainsSubstring(at.string()) && ContainsSubstring("expected " + hex) &&
                              ContainsSubstring("build-id none") && ContainsSubstring("symbol table only"));
  }
  SECTION("nothing there: said once, naming the build-id and the places looked") {
    Warnings w;
    sym::DebugFileFinder f({{t.path.string(), "/nonexistent-dir"}, false}, w.fn());
    CHECK(!f.find_debug_file(main_file, links));
    CHECK(!f.find_debug_file(main_file, links));
    REQUIRE(w.said.size() == 1);
    CHECK_THAT(w.said[0], ContainsSubstring(main_file) && ContainsSubstring("build-id " + hex) &&
                              ContainsSubstring(at.string()) && ContainsSubstring("/nonexistent-dir/.build-id/"));
  }
}

TEST_CASE("by .gnu_debuglink: beside the file, in .debug/, under DIR/<its directory>; the CRC-32 must match",
          "[debugfile]") {
  test::TempDir t;
  fs::create_directories(t.path / "bin");
  std::string main_file = (t.path / "bin" / "prog").string();
  std::ofstream(main_file) << "not read";
  sym::DebugLinks links;
  links.debuglink = "prog.debug";
  links.debuglink_crc = crc_of(kNoBuildId);
  fs::path dbgdir = t.path / "debug";

  for (fs::path where : {t.path / "bin" / "prog.debug", t.path / "bin" / ".debug" / "prog.debug",
                         fs::path(dbgdir.string() + (t.path / "bin").string()) / "prog.debug"}) {
    fs::create_directories(where.parent_path());
    fs::copy_file(kNoBuildId, where, fs::copy_options::overwrite_existing);
    Warnings w;
    sym::DebugFileFinder f({{dbgdir.string()}, false}, w.fn());
    auto got = f.find_debug_file(main_file, links);
    REQUIRE(got);
    CHECK(*got == where.string());
    CHECK(w.said.empty());
    fs::remove(where);
  }

  // A file whose CRC-32 differs: refused, naming both CRCs.
  fs::copy_file(self_path(), t.path / "bin" / "prog.debug");
  Warnings w;
  sym::DebugFileFinder f({{dbgdir.string()}, false}, w.fn());
  CHECK(!f.find_debug_file(main_file, links));
  REQUIRE(w.said.size() == 1);
  char want[16];
  std::snprintf(want, sizeof want, "%#010x", links.debuglink_crc);
  CHECK_THAT(w.said[0], ContainsSubstring((t.path / "bin" / "prog.debug").string()) &&
                            ContainsSubstring(std::string("expects ") + want) && ContainsSubstring("CRC-32"));
}

TEST_CASE("debuginfod: not asked without DEBUGINFOD_URLS, and says so where it looked", "[debugfile]") {
  const char* old = ::getenv("DEBUGINFOD_URLS");
  std::string saved = old ? old : "";
  ::unsetenv("DEBUGINFOD_URLS");
  test::TempDir t;
  sym::DebugLinks links;
  links.build_id = "\x12\x34\x56\x78";
  Warnings w;
  sym::DebugFileFinder f({{t.path.string()}, true}, w.fn());
  CHECK(!f.find_debug_file("/x/prog", links));
  REQUIRE(w.said.size() == 1);
  CHECK_THAT(w.said[0], ContainsSubstring("DEBUGINFOD_URLS not set"));
  if (old) ::setenv("DEBUGINFOD_URLS", saved.c_str(), 1);
}

TEST_CASE("demangle: C++ and Rust as c++filt prints them, other names untouched", "[demangle]") {
  // c++filt (binutils 2.40) output, copied: std::string in full (c++filt's
  // "verbose" style), clone suffixes, Rust legacy with its hash, Rust v0.
  CHECK(sym::demangle("_Z4walkii") == "walk(int, int)");
  CHECK(sym::demangle("_Z1fSs") == "f(std::basic_string<char, std::char_traits<char>, std::allocator<char> >)");
  CHECK(sym::demangle("_ZNSt6vectorIiSaIiEE9push_backERKi") ==
        "std::vector<int, std::allocator<int> >::push_back(int const&)");
  CHECK(sym::demangle("_Z4walkii.constprop.0") == "walk(int, int) [clone .constprop.0]");
  CHECK(sym::demangle("_ZN4core3ptr13drop_in_place17h0123456789abcdefE") ==
        "core::ptr::drop_in_place::h0123456789abcdef");
  CHECK(sym::demangle("_RNvCs1234_7mycrate3foo") == "mycrate[3c1c0]::foo");
  CHECK(sym::demangle("main") == "main");
  CHECK(sym::demangle("__x64_sys_read") == "__x64_sys_read");
  CHECK(sym::demangle("_Znot_mangled") == "_Znot_mangled");
  CHECK(sym::demangle("") == "");
}

TEST_CASE("demangled names: symbols and frames demangled by default, mangled with demangle off", "[demangle]") {
  // This test program is C++: its own functions have mangled names.
  sym::SymbolizerOptions off;
  off.demangle = false;
  sym::Symbolizer mangled({sym::parse_symmap(kSelf)}, nullptr, true, off);
  sym::Symbolizer plain({sym::parse_symmap(kSelf)}, nullptr, true);
  // Catch2's session runner: linked into this program, with a stable name.
  auto m = mangled.find_symbol("_ZN5Catch7Session3runEv");
  REQUIRE(m);
  sym::Resolved a, b;
  mangled.resolve(m->lo, {true, true}, a);
  plain.resolve(m->lo, {true, true}, b);
  CHECK(a.symbol == "_ZN5Catch7Session3runEv");
  CHECK(b.symbol == "Catch::Session::run()");
  REQUIRE(!b.frames.empty());
  for (const auto& f : b.frames) CHECK(!f.function.starts_with("_Z"));
  CHECK(b.frames.back().function == "Catch::Session::run()");

  // Threads resolving at once get the same demangled names (the per-symbol
  // cache fills under a lock, read without one).
  std::vector<std::uint64_t> addrs;
  for (std::uint64_t k = 0; k < 4000; ++k) addrs.push_back(m->lo - 0x20000 + k * 0x40);
  plain.prefetch(addrs, {true, true}, 2);
  std::vector<std::string> got[2];
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&, t] {
      sym::ResolveCache cache;
      sym::Resolved x;
      for (auto ad : addrs) {
        plain.resolve_parsed(ad, {true, true}, x, cache);
        got[t].emplace_back(x.symbol);
      }
    });
  for (auto& t : ts) t.join();
  CHECK(got[0] == got[1]);
  std::size_t demangled = 0;
  for (const auto& s : got[0]) {
    CHECK(!s.starts_with("_Z"));
    demangled += s.find("::") != std::string::npos;
  }
  CHECK(demangled > 100);
}
