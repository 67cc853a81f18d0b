// Checksums of the files a replay depends on (xentt/base/file_digest.h):
// a manifest round-trips, names the first damaged, cut or missing file, and
// tells damage to itself apart.
#include <catch2/catch_test_macros.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "xentt/base/file_digest.h"
#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "unit_util.h"

namespace fs = std::filesystem;
using namespace xentt;
using namespace xentt::test;

TEST_CASE("a digest manifest names the file that changed, and how") {
  TempDir t;
  write_file_atomic(t.path / "kernel", std::string(10000, 'k'));
  write_file_atomic(t.path / "config.json", "{}");
  fs::create_directories(t.path / "sub");
  write_file_atomic(t.path / "outside", "x");
  DigestManifest m = DigestManifest::of(t.path / "sub", {"../kernel", "../config.json", "../outside"});
  m.write(t.path / "sums.json");
  DigestManifest back = DigestManifest::read(t.path / "sums.json");
  CHECK(back.files == m.files);
  CHECK(back.files.at("../kernel").bytes == 10000);
  CHECK_FALSE(back.damage(t.path / "sub"));

  std::string k(10000, 'k');
  k[5000] = 'X';
  write_file_atomic(t.path / "kernel", k);
  auto d = back.damage(t.path / "sub");
  REQUIRE(d);
  CHECK(d->find((t.path / "kernel").string() + " is damaged: its checksum differs") != std::string::npos);
  write_file_atomic(t.path / "kernel", "");
  CHECK(back.damage(t.path / "sub")->find("it has 0 bytes, 10000 were recorded") != std::string::npos);
  write_file_atomic(t.path / "kernel", std::string(10000, 'k'));
  fs::remove(t.path / "config.json");
  CHECK(back.damage(t.path / "sub")->find("config.json is missing") != std::string::npos);
  write_file_atomic(t.path / "config.json", "{}");

  // Checked by size alone: a change of contents passes, of size does not.
  write_file_atomic(t.path / "outside", "y");
  CHECK(back.damage(t.path / "sub"));
  CHECK_FALSE(back.damage(t.path / "sub", {"../outside"}));
  write_file_atomic(t.path / "outside", "yy");
  CHECK(back.damage(t.path / "sub", {"../outside"}));
}

TEST_CASE("a damaged digest manifest is refused as itself, naming it") {
  TempDir t;
  write_file_atomic(t.path / "f", "data");
  DigestManifest::of(t.path, {"f"}).write(t.path / "sums.json");
  std::string text = read_file(t.path / "sums.json");
  std::string bad = text;
  bad.replace(bad.find("\"bytes\": 4"), 10, "\"bytes\": 5");
  write_file_atomic(t.path / "sums.json", bad);
  auto e = error_of([&] { DigestManifest::read(t.path / "sums.json"); });
  REQUIRE(e);
  CHECK(e->exit_status() == 2);
  CHECK(std::string(e->what()).find("sums.json: the manifest's own checksum does not match") != std::string::npos);
  write_file_atomic(t.path / "sums.json", "not json");
  CHECK(status_of([&] { DigestManifest::read(t.path / "sums.json"); }) == 2);
  write_file_atomic(t.path / "sums.json", R"({"format": 9, "files": {}, "crc32": "0x0"})");
  CHECK(message_of([&] { DigestManifest::read(t.path / "sums.json"); }).find("format 9 unknown") != std::string::npos);
}

TEST_CASE("write_then_rename makes the file whole or leaves nothing, and no temporary file") {
  TempDir t;
  fs::path f = t.path / "out.core";
  write_then_rename(f, [](const fs::path& tmp) { std::ofstream(tmp) << "whole"; });
  CHECK(read_file(f) == "whole");
  CHECK(std::distance(fs::directory_iterator(t.path), fs::directory_iterator()) == 1);
  // A writer that fails half way: the old file stays, the temporary goes.
  CHECK_THROWS_AS(write_then_rename(f,
                                    [](const fs::path& tmp) {
                                      std::ofstream(tmp) << "half";
                                      throw bad_input("the writer failed");
                                    }),
                  Error);
  CHECK(read_file(f) == "whole");
  CHECK(std::distance(fs::directory_iterator(t.path), fs::directory_iterator()) == 1);
  // A rename that cannot happen (the target is a non-empty directory).
  fs::create_directories(t.path / "dir" / "x");
  CHECK_THROWS_AS(write_then_rename(t.path / "dir", [](const fs::path& tmp) { std::ofstream(tmp) << "x"; }), Error);
  CHECK(std::distance(fs::directory_iterator(t.path), fs::directory_iterator()) == 2);
}

TEST_CASE("FileTail passes on what was appended since the last look, from before the file exists") {
  TempDir t;
  fs::path f = t.path / "console.log";
  FileTail tail(f);
  std::string got;
  auto into = [&](std::string_view b) { got.append(b); };
  CHECK(tail.take(into) == 0);  // not there yet
  std::ofstream out(f, std::ios::binary);
  out << "hello " << std::flush;
  CHECK(tail.take(into) == 6);
  CHECK(tail.take(into) == 0);
  out << std::string(200000, 'x') << "end" << std::flush;  // more than one read's worth
  CHECK(tail.take(into) == 200003);
  CHECK(got == "hello " + std::string(200000, 'x') + "end");
}
