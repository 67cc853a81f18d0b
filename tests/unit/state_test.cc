// The state directory's formats and rules: VM names, config round trip and
// version check, recording states, the replay index, ownership, a destroy
// that never leaves half a directory and never deletes what is not ours.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "xentt/session/replay_index.h"
#include "vm/qemu/qemu_options.h"
#include "xentt/session/state_dir.h"
#include "xentt/session/vm_config.h"

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
  c.engine_options = {{"devices", {"isa-debug-exit,iobase=0xf4,iosize=4"}}, {"icount_sleep", false}, {"hpet", false}};
  VmConfig back = VmConfig::from_json(c.to_json(), "config.json");
  CHECK(back.cmdline == c.cmdline);
  CHECK(back.initrd == c.initrd);
  CHECK_FALSE(back.disk);
  CHECK(back.memory_mb == 128);
  CHECK(back.symfiles == c.symfiles);
  CHECK(back.engine_options == c.engine_options);
  auto q = qemu::QemuOptions::from_json(back.engine_options, "config.json");
  CHECK(q.devices == std::vector<std::string>{"isa-debug-exit,iobase=0xf4,iosize=4"});
  CHECK_FALSE(q.icount_sleep);
  CHECK_FALSE(q.hpet);
  c.engine_options["icount_sleep"] = c.engine_options["hpet"] = true;
  q = qemu::QemuOptions::from_json(VmConfig::from_json(c.to_json(), "config.json").engine_options, "config.json");
  CHECK(q.icount_sleep);
  CHECK(q.hpet);
  // The engine's settings live in its own section.
  CHECK(nlohmann::json::parse(c.to_json())["qemu"]["hpet"] == true);

  std::string v3 = c.to_json();
  v3.replace(v3.find("\"format\": 2"), 11, "\"format\": 3");
  CHECK(status_of([&] { VmConfig::from_json(v3, "config.json"); }) == 2);
  CHECK(status_of([] { VmConfig::from_json("{\"format\": 2}", "config.json"); }) == 2);
  CHECK(status_of([] { VmConfig::from_json("not json", "config.json"); }) == 2);
}

TEST_CASE("a config written before icount_sleep and hpet existed replays with QEMU's defaults for both") {
  // Those recordings ran with sleep=on and an HPET; their snapshots hold the
  // HPET's state, so replaying them without it would fail to load.
  VmConfig old = VmConfig::from_json(
      R"({"format": 1, "name": "old", "engine": "qemu", "kernel": "kernel", "memory_mb": 64})", "config.json");
  auto q = qemu::QemuOptions::from_json(old.engine_options, "config.json");
  CHECK(q.icount_sleep);
  CHECK(q.hpet);
  CHECK(q.nic == "rtl8139");  // what every recording with --net ran with before the setting
}

TEST_CASE("a format-1 config keeps engine qemu's settings at the top; they load into its section") {
  VmConfig old = VmConfig::from_json(R"({"format": 1, "name": "old", "engine": "qemu", "kernel": "kernel",
      "memory_mb": 64, "icount_shift": 2, "icount_sleep": false, "hpet": false,
      "extra_devices": ["isa-debug-exit,iobase=0xf4,iosize=4"]})",
                                     "config.json");
  auto q = qemu::QemuOptions::from_json(old.engine_options, "config.json");
  CHECK(q.icount_shift == 2);
  CHECK_FALSE(q.icount_sleep);
  CHECK_FALSE(q.hpet);
  CHECK(q.devices == std::vector<std::string>{"isa-debug-exit,iobase=0xf4,iosize=4"});
}

TEST_CASE("config values are checked before anything runs: files stay inside, sizes in range") {
  auto with = [](const std::string& field, const std::string& value) {
    VmConfig c;
    c.name = "vm";
    c.kernel = "kernel";
    nlohmann::json j = nlohmann::json::parse(c.to_json());
    j[field] = nlohmann::json::parse(value);
    return message_of([&] { VmConfig::from_json(j.dump(), "/s/config.json"); });
  };
  CHECK(with("kernel", R"("../../../../../etc/passwd")").find("kernel '../../../../../etc/passwd' is not a file name") !=
        std::string::npos);
  CHECK(with("kernel", R"("/etc/passwd")").find("not a file name inside the state directory") != std::string::npos);
  CHECK(with("initrd", R"("..")").find("initrd '..'") != std::string::npos);
  CHECK(with("disk", R"("a/b")").find("disk 'a/b'") != std::string::npos);
  CHECK(with("memory_mb", "0").find("memory_mb 0 is out of range") != std::string::npos);
  CHECK(with("memory_mb", "-1").starts_with("/s/config.json"));
  CHECK(with("memory_mb", "1e20").starts_with("/s/config.json"));
  CHECK(with("name", R"("../x")").find("VM name") != std::string::npos);
  CHECK(with("kernel", R"("kernel")").empty());
  auto qemu = [](const std::string& section) {
    return message_of([&] { qemu::QemuOptions::from_json(nlohmann::json::parse(section), "config.json"); });
  };
  CHECK(qemu(R"({"icount_shift": 11})").find("icount_shift 11 is out of range") != std::string::npos);
  CHECK(qemu(R"({"devices": ["-monitor stdio"]})").find("not a -device spec") != std::string::npos);
  CHECK(qemu(R"({"hpet": "yes"})").starts_with("config.json"));
  // One model name: nothing that would add options or another argument.
  CHECK(qemu(R"({"nic": "virtio-net-pci"})").empty());
  CHECK(qemu(R"({"nic": "e1000,netdev=x"})").find("qemu nic 'e1000,netdev=x' is not a network card model") !=
        std::string::npos);
  CHECK(qemu(R"({"nic": "-netdev"})").find("is not a network card model") != std::string::npos);
  CHECK(qemu(R"({"nic": ""})").find("is not a network card model") != std::string::npos);
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
  sd.create();
  fs::create_directories(sd.path() / "recording");
  write_file_atomic(sd.path() / "recording/replay.bin", "data");
  // An earlier destroy renamed the directory (marked, as ours) and died.
  StateDir earlier = StateDir::locate("vm", t.path / ".vm.deleting.1234");
  earlier.create();
  fs::create_directories(earlier.path() / "replays/99-0");
  sd.destroy();
  CHECK_FALSE(fs::exists(sd.path()));
  CHECK_FALSE(fs::exists(t.path / ".vm.deleting.1234"));
  CHECK(fs::is_empty(t.path));
}

// The ownership rules (issue 11: tt_record -D deleted any directory or file
// it was pointed at). Every refusal is bad input and changes nothing.
TEST_CASE("destroy refuses what is not a state directory of ours, and deletes nothing") {
  TempDir t;
  fs::create_directories(t.path / "user/sub");
  write_file_atomic(t.path / "user/important.txt", "x");
  write_file_atomic(t.path / "file", "x");
  fs::create_symlink(t.path / "user", t.path / "link");
  for (const char* p : {"user", "file", "link"}) {
    StateDir sd = StateDir::locate("vm", t.path / p);
    CHECK(sd.ownership() == Ownership::NotOurs);
    auto e = error_of([&] { sd.destroy(); });
    REQUIRE(e);
    CHECK(e->exit_status() == 2);
    CHECK(std::string(e->what()).find("not a xentt state directory") != std::string::npos);
    CHECK(std::string(e->what()).find("nothing was changed") != std::string::npos);
  }
  CHECK(fs::exists(t.path / "user/important.txt"));
  CHECK(fs::is_directory(t.path / "user/sub"));
  CHECK(fs::exists(t.path / "file"));
  CHECK(fs::is_symlink(t.path / "link"));
  // A marker that is not ours (another program's file of that name) is not one.
  write_file_atomic(t.path / "user" / StateDir::kMarker, "{\"magic\": \"other\", \"format\": 1}");
  CHECK(StateDir::locate("vm", t.path / "user").ownership() == Ownership::NotOurs);
  CHECK(status_of([&] { StateDir::locate("vm", t.path / "user").destroy(); }) == 2);
  CHECK(fs::exists(t.path / "user/important.txt"));
}

TEST_CASE("destroy refuses a state directory holding what xentt did not create, naming it") {
  TempDir t;
  StateDir sd = StateDir::locate("vm", t.path / "vm");
  sd.create();
  write_file_atomic(sd.file("config.json"), "{}");
  write_file_atomic(sd.file("config.json.tmp.123"), "{}");  // a crashed atomic write: ours
  write_file_atomic(sd.file("notes.txt"), "mine");
  auto msg = message_of([&] { sd.destroy(); });
  CHECK(msg.find("notes.txt") != std::string::npos);
  CHECK(msg.find("nothing was deleted") != std::string::npos);
  CHECK(fs::exists(sd.file("config.json")));
  CHECK(fs::exists(sd.file(StateDir::kMarker)));
  fs::remove(sd.file("notes.txt"));
  sd.destroy();
  CHECK_FALSE(fs::exists(sd.path()));
}

TEST_CASE("destroy removes links inside a state directory, never what they point at") {
  TempDir t;
  fs::create_directories(t.path / "outside/dir");
  write_file_atomic(t.path / "outside/dir/file", "keep");
  write_file_atomic(t.path / "outside/file", "keep");
  StateDir sd = StateDir::locate("vm", t.path / "vm");
  sd.create();
  fs::create_directories(sd.path() / "recording");
  fs::create_directory_symlink(t.path / "outside/dir", sd.path() / "recording/linkdir");
  fs::create_symlink(t.path / "outside/file", sd.path() / "recording/linkfile");
  fs::create_directory_symlink(t.path / "outside", sd.path() / "replays");  // a link where a directory of ours goes
  CHECK(sd.runtime_dirs().empty());  // not followed
  sd.destroy();
  CHECK_FALSE(fs::exists(fs::symlink_status(sd.path())));
  CHECK(read_file(t.path / "outside/dir/file") == "keep");
  CHECK(read_file(t.path / "outside/file") == "keep");
}

TEST_CASE("a state directory in an empty directory of the user's: destroy empties it and leaves it") {
  TempDir t;
  fs::create_directories(t.path / "mine");
  StateDir sd = StateDir::locate("vm", t.path / "mine");
  sd.create();
  CHECK(sd.ownership() == Ownership::Ours);
  write_file_atomic(sd.file("config.json"), "{}");
  sd.destroy();
  CHECK(fs::is_directory(t.path / "mine"));
  CHECK(fs::is_empty(t.path / "mine"));
  // create() takes only an empty directory.
  write_file_atomic(t.path / "mine/x", "x");
  CHECK(status_of([&] { sd.create(); }) == 2);
  CHECK_FALSE(fs::exists(sd.file(StateDir::kMarker)));
}

TEST_CASE("a state directory recorded before markers existed is recognized by its config and destroyed") {
  TempDir t;
  StateDir sd = StateDir::locate("old", t.path / "old");
  fs::create_directories(sd.path() / "recording");
  VmConfig c;
  c.name = "old";
  c.kernel = "kernel";
  sd.write_config(c);
  CHECK(sd.ownership() == Ownership::Legacy);
  sd.destroy();
  CHECK_FALSE(fs::exists(sd.path()));
}

TEST_CASE("runtime directories are those named KIND<pid>-<n> under a real replays/ directory") {
  TempDir t;
  StateDir sd = StateDir::locate("vm", t.path / "vm");
  sd.create();
  for (const char* d : {"replays/123-0", "replays/index-45-2", "replays/notours", "replays/12x-1"})
    fs::create_directories(sd.path() / d);
  write_file_atomic(sd.path() / "replays/77-1", "a file");
  auto dirs = sd.runtime_dirs();
  std::sort(dirs.begin(), dirs.end(), [](auto& a, auto& b) { return a.owner_pid < b.owner_pid; });
  REQUIRE(dirs.size() == 2);
  CHECK(dirs[0].owner_pid == 45);
  CHECK(dirs[1].owner_pid == 123);
  CHECK(sd.new_runtime_dir("index-").filename().string().starts_with("index-" + std::to_string(::getpid()) + "-"));
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
  i.recording = "replay.bin 13000";
  i.final_icount = 304385767;
  i.interval = 50000000;
  i.checkpoints = {0, 50000000, 100000000};
  i.checkpoint_brctr = {0, 6758968, ReplayIndex::kUnknown};
  ReplayIndex back = ReplayIndex::from_json(i.to_json(), "index.json");
  CHECK(back.final_icount == i.final_icount);
  CHECK(back.checkpoints == i.checkpoints);
  CHECK(back.checkpoint_brctr == i.checkpoint_brctr);
  CHECK(back.recording == i.recording);
  i.checkpoint_brctr.pop_back();
  CHECK(status_of([&] { ReplayIndex::from_json(i.to_json(), "index.json"); }) == 2);
  try {
    ReplayIndex::from_json("{\"format\": 3, \"final_icount\": \"x\"}", "/s/index.json");
    FAIL("accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).starts_with("/s/index.json"));
  }
}

namespace {
// A state directory "vm" in `t` holding `i` as its replay index.
StateDir with_index(const TempDir& t, const ReplayIndex& i) {
  fs::create_directories(t.path / "vm");
  StateDir sd = StateDir::locate("vm", t.path / "vm");
  save_replay_index(sd, i);
  return sd;
}
}  // namespace

TEST_CASE("an index counted by other plugin rules, or before brctr, is stale: loading it asks for a rebuild") {
  TempDir t;
  ReplayIndex i;
  i.recording = "rec-1";
  i.final_icount = 1000;
  i.checkpoints = {0};
  i.checkpoint_brctr = {0};
  StateDir sd = with_index(t, i);
  REQUIRE(load_replay_index(sd, "rec-1"));
  auto rewrite = [&](const std::string& from, const std::string& to) {
    std::string text = read_file(sd.file("index.json"));
    REQUIRE(text.find(from) != std::string::npos);
    write_file_atomic(sd.file("index.json"), text.replace(text.find(from), from.size(), to));
  };
  rewrite("\"brctr_rules\": " + std::to_string(ReplayIndex::kBrctrRules), "\"brctr_rules\": 1");
  CHECK_FALSE(load_replay_index(sd, "rec-1"));
  rewrite("\"brctr_rules\": 1,", "");  // indexes from before the field
  CHECK_FALSE(load_replay_index(sd, "rec-1"));
  save_replay_index(sd, i);
  rewrite("\"format\": 3", "\"format\": 2");
  CHECK_FALSE(load_replay_index(sd, "rec-1"));
}

// Issue 11: --verify believed index.json's final_icount (set to 1, it said
// "replayed to the end: icount 1"). The index is derived from the log: a
// damaged one, or one built for another recording, is rebuilt, not trusted.
TEST_CASE("a damaged index, or one of another recording, is never believed: loading it asks for a rebuild") {
  TempDir t;
  ReplayIndex i;
  i.recording = "replay.bin 13000 sums 0x12345678";
  i.final_icount = 304385767;
  i.checkpoints = {0, 50000000};
  i.checkpoint_brctr = {0, 6758968};
  StateDir sd = with_index(t, i);
  REQUIRE(load_replay_index(sd, i.recording));
  std::string why;
  CHECK_FALSE(load_replay_index(sd, "replay.bin 14000 sums 0x9abcdef0", &why));
  CHECK(why.find("another recording") != std::string::npos);
  std::string text = read_file(sd.file("index.json"));
  std::string tampered = text;
  tampered.replace(tampered.find("304385767"), 9, "1");
  write_file_atomic(sd.file("index.json"), tampered);
  CHECK_FALSE(load_replay_index(sd, i.recording, &why));
  CHECK(why.find("checksum does not match") != std::string::npos);
  CHECK(status_of([&] { ReplayIndex::from_json(tampered, "index.json"); }) == 2);
  write_file_atomic(sd.file("index.json"), "{ not json");
  CHECK_FALSE(load_replay_index(sd, i.recording, &why));
  CHECK(why.find("not a JSON object") != std::string::npos);
}

// Index builds before 2026-11-27 could keep a checkpoint a few instructions
// past the recording's end (a replay-break there can still succeed) and
// found a wrong end from it; builds since keep none within kEndMargin of
// the end, so an index that has one is rebuilt, not believed.
TEST_CASE("an index with a checkpoint within kEndMargin of its end is rebuilt") {
  TempDir t;
  ReplayIndex i;
  i.recording = "rec-1";
  i.final_icount = 100000007;
  i.checkpoints = {0, 50000000, 100000000};
  i.checkpoint_brctr = {0, 6758968, 13517936};
  StateDir sd = with_index(t, i);
  std::string why;
  CHECK_FALSE(load_replay_index(sd, "rec-1", &why));
  CHECK(why.find("checkpoint at icount 100000000, too close to its end (icount 100000007)") != std::string::npos);
  i.final_icount = 100000000 + ReplayIndex::kEndMargin;  // the nearest a build keeps one
  save_replay_index(sd, i);
  CHECK(load_replay_index(sd, "rec-1"));
}
