// The state directory's formats and rules: VM names, config round trip and
// version check, recording states, the replay index, a destroy that never
// leaves half a directory.
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <filesystem>
#include <fstream>

#include "xentt/error.h"
#include "xentt/fs_util.h"
#include "xentt/gdb_remote.h"
#include "xentt/replay_index.h"
#include "xentt/state_dir.h"
#include "xentt/vm_config.h"

#include "unit_util.h"

namespace fs = std::filesystem;
using namespace xentt;
using namespace xentt::test;

TEST_CASE("VM names are [A-Za-z0-9][A-Za-z0-9._-]* and at most 64 characters") {
  for (const char* ok : {"demo", "a", "Linux-6.1_boot.2", "0x"}) CHECK(status_of([&] { validate_vm_name(ok); }) == 0);
  for (const char* bad : {"", ".x", "-x", "_x", "a/b", "..", "a b", "a\nb", "ü"})
    CHECK(status_of([&] { validate_vm_name(bad); }) == 2);
  CHECK(status_of([] { validate_vm_name(std::string(65, 'a')); }) == 2);
  CHECK(status_of([] { validate_vm_name(std::string(64, 'a')); }) == 0);
}

TEST_CASE("a config round-trips through JSON, and other format versions are refused") {
  VmConfig c;
  c.name = "demo";
  c.kernel = "kernel";
  c.initrd = "initrd";
  c.cmdline = "ticks=5 seed=\"x\"";
  c.memory_mb = 128;
  c.symfiles = {"kernel", "/x/xen-syms@ffff82d040000000-ffff82d0bfffffff:Xen"};
  c.extra_devices = {"isa-debug-exit,iobase=0xf4,iosize=4"};
  VmConfig back = VmConfig::from_json(c.to_json(), "config.json");
  CHECK(back.cmdline == c.cmdline);
  CHECK(back.initrd == c.initrd);
  CHECK_FALSE(back.disk);
  CHECK(back.memory_mb == 128);
  CHECK(back.symfiles == c.symfiles);
  CHECK(back.extra_devices == c.extra_devices);
  CHECK_FALSE(back.icount_sleep);
  CHECK_FALSE(back.hpet);
  c.icount_sleep = c.hpet = true;
  back = VmConfig::from_json(c.to_json(), "config.json");
  CHECK(back.icount_sleep);
  CHECK(back.hpet);

  std::string v2 = c.to_json();
  v2.replace(v2.find("\"format\": 1"), 11, "\"format\": 2");
  CHECK(status_of([&] { VmConfig::from_json(v2, "config.json"); }) == 2);
  CHECK(status_of([] { VmConfig::from_json("{\"format\": 1}", "config.json"); }) == 2);
  CHECK(status_of([] { VmConfig::from_json("not json", "config.json"); }) == 2);
}

TEST_CASE("a config written before icount_sleep and hpet existed replays with QEMU's defaults for both") {
  // Those recordings ran with sleep=on and an HPET; their snapshots hold the
  // HPET's state, so replaying them without it would fail to load.
  VmConfig old = VmConfig::from_json(
      R"({"format": 1, "name": "old", "engine": "qemu", "kernel": "kernel", "memory_mb": 64})", "config.json");
  CHECK(old.icount_sleep);
  CHECK(old.hpet);
}

TEST_CASE("a state is complete, incomplete, or recording (lock held)") {
  TempDir t;
  StateDir sd = StateDir::locate("vm", t.path / "vm");
  fs::create_directories(sd.path());
  CHECK(sd.recording_state() == RecordingState::Complete);
  write_file_atomic(sd.file("INCOMPLETE"), "{\"pid\": 4242}\n");
  CHECK(sd.recording_state() == RecordingState::Incomplete);
  CHECK(sd.recorder_pid() == 4242);
  {
    FileLock lock(sd.file("record.lock"), "busy");
    CHECK(sd.recording_state() == RecordingState::Recording);
    CHECK(FileLock::held(sd.file("record.lock")));
  }
  CHECK(sd.recording_state() == RecordingState::Incomplete);
}

TEST_CASE("destroy removes everything, including an earlier interrupted destroy") {
  TempDir t;
  StateDir sd = StateDir::locate("vm", t.path / "vm");
  fs::create_directories(sd.path() / "recording");
  write_file_atomic(sd.path() / "recording/replay.bin", "data");
  fs::create_directories(t.path / ".vm.deleting.1234/sub");
  sd.destroy();
  CHECK_FALSE(fs::exists(sd.path()));
  CHECK_FALSE(fs::exists(t.path / ".vm.deleting.1234"));
  CHECK(fs::is_empty(t.path));
}

TEST_CASE("opening a VM that was never recorded names the path") {
  TempDir t;
  try {
    StateDir::open_existing("nothere", t.path / "nothere");
    FAIL("opened");
  } catch (const Error& e) {
    CHECK(e.exit_status() == 2);
    CHECK(std::string(e.what()).find((t.path / "nothere").string()) != std::string::npos);
  }
}

TEST_CASE("the replay index round-trips and damage is reported with the file") {
  ReplayIndex i;
  i.final_icount = 304385767;
  i.interval = 50000000;
  i.checkpoints = {0, 50000000, 100000000};
  i.checkpoint_brctr = {0, 6758968, ReplayIndex::kUnknown};
  ReplayIndex back = ReplayIndex::from_json(i.to_json(), "index.json");
  CHECK(back.final_icount == i.final_icount);
  CHECK(back.checkpoints == i.checkpoints);
  CHECK(back.checkpoint_brctr == i.checkpoint_brctr);
  i.checkpoint_brctr.pop_back();
  CHECK(status_of([&] { ReplayIndex::from_json(i.to_json(), "index.json"); }) == 2);
  try {
    ReplayIndex::from_json("{\"format\": 2, \"final_icount\": \"x\"}", "/s/index.json");
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).starts_with("/s/index.json"));
  }
}

TEST_CASE("an index counted by other plugin rules, or before brctr, is stale: loading it asks for a rebuild") {
  TempDir t;
  fs::create_directories(t.path / "vm");
  StateDir sd = StateDir::locate("vm", t.path / "vm");
  ReplayIndex i;
  i.final_icount = 1000;
  i.checkpoints = {0};
  i.checkpoint_brctr = {0};
  save_replay_index(sd, i);
  REQUIRE(load_replay_index(sd));
  auto rewrite = [&](const std::string& from, const std::string& to) {
    std::string text = read_file(sd.file("index.json"));
    REQUIRE(text.find(from) != std::string::npos);
    write_file_atomic(sd.file("index.json"), text.replace(text.find(from), from.size(), to));
  };
  rewrite("\"brctr_rules\": " + std::to_string(ReplayIndex::kBrctrRules), "\"brctr_rules\": 1");
  CHECK_FALSE(load_replay_index(sd));
  rewrite("\"brctr_rules\": 1,", "");  // indexes from before the field
  CHECK_FALSE(load_replay_index(sd));
  save_replay_index(sd, i);
  rewrite("\"format\": 2", "\"format\": 1");
  CHECK_FALSE(load_replay_index(sd));
}

TEST_CASE("x86-64 registers decode from a gdb 'g' reply, little-endian") {
  std::string hex;
  auto le = [](uint64_t v, int bytes) {
    std::string s;
    for (int i = 0; i < bytes; i++) {
      char b[3];
      std::snprintf(b, sizeof b, "%02x", static_cast<unsigned>((v >> (8 * i)) & 0xff));
      s += b;
    }
    return s;
  };
  for (uint64_t r = 0; r < 16; r++) hex += le(0x1111111111111111ull * r, 8);
  hex += le(0xffffffff81000123ull, 8);  // rip
  hex += le(0x246, 4);                  // eflags
  hex += le(0x10, 4);                   // cs and more: kept raw
  X86Registers r = parse_x86_64_registers(hex);
  CHECK(r.gpr[0] == 0);
  CHECK(r.gpr[7] == 0x7777777777777777ull);  // rsp
  CHECK(r.gpr[15] == 0xffffffffffffffffull);
  CHECK(r.rip == 0xffffffff81000123ull);
  CHECK(r.eflags == 0x246);
  CHECK(r.raw == hex);
  CHECK_THROWS_AS(parse_x86_64_registers(hex.substr(0, 100)), Error);
  // A register the stub cannot read comes as "xx": one Error naming where,
  // not a stray std::invalid_argument.
  std::string unreadable = hex;
  unreadable.replace(16 * 16, 2, "xx");
  CHECK(message_of([&] { parse_x86_64_registers(unreadable); }).find("malformed at hex digit 256: 'xx'") !=
        std::string::npos);
}
