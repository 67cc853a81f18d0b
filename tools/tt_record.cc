// tt_record: record a VM into its state directory, or stop (-S) or destroy
// (-D) a recording. Thin: options, libxentt, messages.
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tool_main.h"
#include "xentt/base/daemon.h"
#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "vm/qemu/log_sums.h"
#include "xentt/base/process.h"
#include "vm/qemu/qemu_engine.h"
#include "xentt/session/replay_session.h"
#include "xentt/session/state_dir.h"

namespace fs = std::filesystem;
using namespace xentt;
using namespace std::chrono_literals;

namespace {

struct Options {
  std::string name;
  bool console = false, debug = false, force = false, stop = false, destroy = false, net = false;
  bool realtime_idle = false, hpet = false;
  uint64_t memory_mb = 64;
  std::string ramdisk, disk, dir, kernel, cmdline;
  std::vector<std::string> symfiles, devices;
  int icount_shift = 0;
  uint64_t checkpoint_every = 50'000'000;
};

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop = true; }

std::optional<fs::path> dir_opt(const Options& o) {
  return o.dir.empty() ? std::nullopt : std::optional<fs::path>(o.dir);
}

// Waits until no recorder holds the lock (up to `timeout`).
bool wait_recorder_gone(const StateDir& sd, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (sd.recording_state() == RecordingState::Recording) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

int stop_recording(const StateDir& sd) {
  if (!sd.exists()) throw bad_input("no recorded VM '" + sd.name() + "' at " + sd.path().string());
  if (sd.recording_state() != RecordingState::Recording) {
    throw bad_input("'" + sd.name() + "' is not recording (" + to_string(sd.recording_state()) + ")");
  }
  auto pid = sd.recorder_pid();
  if (!pid || !process_alive(*pid)) throw runtime_error("the recorder of '" + sd.name() + "' cannot be found");
  ::kill(*pid, SIGTERM);
  if (!wait_recorder_gone(sd, 60s)) throw runtime_error("the recorder of '" + sd.name() + "' did not stop within 60 s");
  fmt::print("stopped recording '{}': {}\n", sd.name(), to_string(sd.recording_state()));
  return sd.recording_state() == RecordingState::Complete ? 0 : 1;
}

int destroy_state(const StateDir& sd) {
  if (sd.ownership() == Ownership::Missing)
    throw bad_input("no state directory for '" + sd.name() + "' at " + sd.path().string());
  sd.require_ours("refusing to destroy");  // a user's directory, a file, a link: before anything is touched
  if (sd.recording_state() == RecordingState::Recording) {
    if (auto pid = sd.recorder_pid(); pid && process_alive(*pid)) ::kill(*pid, SIGKILL);
    if (!wait_recorder_gone(sd, 30s)) throw runtime_error("the recorder of '" + sd.name() + "' does not die");
  }
  int replays = end_background_replays(sd);
  sd.destroy();
  fmt::print("destroyed '{}' ({}{})\n", sd.name(), sd.path().string(),
             replays ? fmt::format(", {} replay(s) ended", replays) : "");
  return 0;
}

fs::path must_exist(const std::string& file, const char* what) {
  if (file.empty()) throw bad_input(fmt::format("no {} given", what));
  fs::path p = fs::absolute(file);
  if (!fs::is_regular_file(p)) throw bad_input(fmt::format("{} {} does not exist or is not a file", what, file));
  return p;
}

std::string disk_format(const fs::path& base) {
  // qemu-img tells the format of the user's image; we do not guess.
  std::string out = (fs::temp_directory_path() / fmt::format("xentt-imginfo-{}", ::getpid())).string();
  SpawnOptions o;
  o.argv = {"qemu-img", "info", "--output=json", base.string()};
  o.stdout_file = out;
  int st = Child::spawn(o).wait();
  std::string text = read_file(out);
  fs::remove(out);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (st != 0 || j.is_discarded() || !j.contains("format")) {
    throw bad_input("qemu-img cannot read the disk image " + base.string());
  }
  return j["format"].get<std::string>();
}

// Creates the state directory with everything a replay will need.
void create_state(const StateDir& sd, const Options& o) {
  fs::path kernel = must_exist(o.kernel, "kernel (-k)");
  std::optional<fs::path> ramdisk;
  if (!o.ramdisk.empty()) ramdisk = must_exist(o.ramdisk, "ramdisk (-R)");
  std::optional<fs::path> disk;
  if (!o.disk.empty()) disk = must_exist(o.disk, "disk (-L)");
  std::vector<std::string> symfiles;
  for (const auto& s : o.symfiles) {
    // FILE[@lo-hi][:prefix]: make FILE absolute, keep the rest.
    auto cut = s.find_first_of("@:");
    fs::path f = must_exist(s.substr(0, cut), "symbol file");
    symfiles.push_back(f.string() + (cut == std::string::npos ? "" : s.substr(cut)));
  }
  if (symfiles.empty()) symfiles.push_back("kernel");  // the kernel's own DWARF, relative to the state dir

  fs::create_directories(sd.path().parent_path());
  sd.create();
  // Incomplete from the first moment: a crash from here on reads as
  // "terminated abnormally", never as a finished recording.
  write_file_atomic(sd.file("INCOMPLETE"), "{\"pid\": 0}\n");
  VmConfig c;
  c.name = sd.name();
  c.kernel = "kernel";
  clone_file(kernel, sd.file("kernel"));
  if (ramdisk) {
    c.initrd = "initrd";
    clone_file(*ramdisk, sd.file("initrd"));
  }
  if (disk) {
    c.disk = "disk.qcow2";
    c.disk_base = disk->string();
    SpawnOptions img;
    img.argv = {"qemu-img", "create", "-q", "-f", "qcow2", "-b", disk->string(), "-F", disk_format(*disk),
                sd.file("disk.qcow2").string()};
    if (Child::spawn(img).wait() != 0) throw runtime_error("qemu-img could not create the disk overlay");
  }
  c.cmdline = o.cmdline;
  c.memory_mb = o.memory_mb;
  c.net = o.net;
  c.symfiles = symfiles;
  c.icount_shift = o.icount_shift;
  // A networked guest's peers live in real time, and QEMU 10.0.2 records a
  // guest with --net and sleep=off at 100% CPU without it ever printing.
  c.icount_sleep = o.realtime_idle || o.net;
  c.hpet = o.hpet;
  c.checkpoint_interval = o.checkpoint_every;
  c.extra_devices = o.devices;
  std::string list = "# symbol maps of this VM: FILE[@lo-hi][:prefix], relative to this directory\n";
  for (const auto& s : symfiles) list += s + "\n";
  write_file_atomic(sd.file("symfiles"), list);
  sd.write_config(c);
}

// The recorder: runs in the background, owns QEMU, finishes the state.
int recorder(const StateDir& sd, bool verbose, const std::function<void(const std::string&)>& ready) {
  FileLock lock(sd.file("record.lock"), "'" + sd.name() + "' is already being recorded");
  write_file_atomic(sd.file("INCOMPLETE"),
                    nlohmann::json{{"pid", ::getpid()}, {"started", std::time(nullptr)}}.dump() + "\n");
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  auto engine = make_engine(sd.config().engine);
  RecordOptions opts;
  opts.verbose = verbose;
  opts.stop_requested = [] { return g_stop.load(); };
  opts.started = [&] { ready(fmt::format("{}", ::getpid())); };
  RecordingInfo info = engine->record(sd, opts);
  // Sums of the log as recorded: a replay checks them first (xentt/log_sums.h).
  // Without them the recording still replays, unchecked, so failing to take
  // them must not cost the recording.
  try {
    write_log_sums(sd.file("recording/replay.sums"), compute_log_sums(sd.file("recording/replay.bin")), 0600);
  } catch (const Error& e) {
    ::dprintf(2, "warning: no checksums for the log (%s); replays will not check it\n", e.what());
  }
  sd.write_recording_info(info);
  fs::remove(sd.file("INCOMPLETE"));  // the one place a recording becomes complete
  ::dprintf(2, "recording complete: ended by %s, status %d, %.2f s\n", info.ended_by.c_str(), info.exit_status,
            info.seconds);
  return 0;
}

// -c: follow the console log until the recording ends (or, at a terminal,
// until Ctrl-C, which detaches and leaves the recording running).
int follow_console(const StateDir& sd) {
  bool tty = ::isatty(1);
  if (tty) {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    ::sigaction(SIGINT, &sa, nullptr);
    fmt::print(stderr, "[console of '{}'; Ctrl-C detaches, the recording goes on]\n", sd.name());
  }
  std::ifstream in;
  char buf[65536];
  for (;;) {
    if (!in.is_open()) in.open(sd.file("console.log"), std::ios::binary);
    bool recording = sd.recording_state() == RecordingState::Recording;
    if (in.is_open()) {
      in.clear();
      while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        std::fwrite(buf, 1, static_cast<size_t>(in.gcount()), stdout);
        if (in.eof()) break;
      }
      std::fflush(stdout);
    }
    if (!recording) break;
    if (g_stop) {
      fmt::print(stderr, "\n[detached; '{}' is still recording (tt_record -S {} stops it)]\n", sd.name(), sd.name());
      return 0;
    }
    std::this_thread::sleep_for(100ms);
  }
  auto st = sd.recording_state();
  auto info = sd.recording_info();
  if (st != RecordingState::Complete || !info) {
    throw runtime_error("the recording of '" + sd.name() + "' terminated abnormally (see " +
                        sd.file("recorder.log").string() + ")");
  }
  fmt::print(stderr, "recorded '{}': ended by {} (QEMU status {}), {:.2f} s\n", sd.name(), info->ended_by,
             info->exit_status, info->seconds);
  return 0;
}

int run(Options& o) {
  StateDir sd = StateDir::locate(o.name, dir_opt(o));
  if (o.stop) return stop_recording(sd);
  if (o.destroy) return destroy_state(sd);

  switch (sd.ownership()) {
    case Ownership::Missing: break;
    case Ownership::NotOurs: {
      std::error_code ec;
      // An empty directory of the user's may hold the recording (create() takes it).
      if (fs::is_directory(fs::symlink_status(sd.path(), ec)) && fs::is_empty(sd.path(), ec)) break;
      sd.require_ours("refusing to record into");  // throws: never replace what is not ours
      break;
    }
    case Ownership::Ours:
    case Ownership::Legacy: {
      auto st = sd.exists() ? sd.recording_state() : RecordingState::Incomplete;
      if (st == RecordingState::Recording) throw bad_input("'" + o.name + "' is being recorded right now");
      if (!o.force) {
        throw bad_input("'" + o.name + "' already has a state directory at " + sd.path().string() + " (" +
                        (sd.exists() ? to_string(st) : "damaged") + "): -f replaces it, -D destroys it");
      }
      end_background_replays(sd);
      sd.destroy();
    }
  }
  make_qemu_engine();  // refuse an old QEMU before creating anything
  create_state(sd, o);
  std::string pid;
  try {
    pid = run_in_background(sd.file("recorder.log").string(),
                            [&](const auto& ready) { return recorder(sd, o.debug, ready); });
  } catch (const Error&) {
    // Nothing was recorded: do not leave a state directory that looks like a
    // crashed recording (the start's error is what the user needs to see).
    try {
      if (!fs::exists(sd.file("recording/replay.bin"))) sd.destroy();
    } catch (const Error&) {
    }
    throw;
  }
  if (o.console) return follow_console(sd);
  fmt::print("recording '{}' in the background (recorder pid {}, state {})\n", o.name, pid, sd.path().string());
  fmt::print("  stop it:  tt_record -S {}{}\n", o.name, o.dir.empty() ? "" : " -s " + o.dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  return tool_main(
      argc, argv, "tt_record", "Record a virtual machine for deterministic replay (engine qemu).",
      [&](CLI::App& app) {
        app.add_option("NAME", o.name, "VM name ([A-Za-z0-9][A-Za-z0-9._-]*)")->required();
        app.add_flag("-c,--console", o.console, "follow the console; returns when the guest powers off");
        app.add_flag("-d,--debug", o.debug, "print the engine's command line");
        app.add_flag("-f,--force", o.force, "replace an existing recording");
        auto* s = app.add_flag("-S,--stop", o.stop, "stop recording NAME, keep its state");
        auto* d = app.add_flag("-D,--destroy", o.destroy, "destroy NAME's state (stops recording and replays)");
        s->excludes(d);
        app.add_option("-M,--memory", o.memory_mb, "guest memory in MiB (default 64)")->check(CLI::Range(16, 65536));
        app.add_option("-R,--ramdisk", o.ramdisk, "initial ramdisk");
        app.add_option("-L,--disk", o.disk, "base disk image; the VM writes to a copy-on-write overlay");
        app.add_option("-s,--state-dir", o.dir, "state directory (default $XENTT_STATE/NAME)");
        app.add_option("-k,--kernel", o.kernel, "kernel to boot (ELF with a PVH note, or bzImage)");
        app.add_option("-a,--append", o.cmdline, "kernel command line");
        app.add_option("--symfile", o.symfiles, "symbol map FILE[@lo-hi][:prefix] (repeatable; default: the kernel)");
        app.add_option("--device", o.devices, "extra QEMU -device SPEC (repeatable), e.g. isa-debug-exit,iobase=0xf4,iosize=4");
        app.add_flag("--net", o.net, "give the guest QEMU user networking (recorded; replays need no network)");
        app.add_option("--icount-shift", o.icount_shift, "virtual ns per instruction = 2^N (default 0)")
            ->check(CLI::Range(0, 10));
        app.add_flag("--realtime-idle", o.realtime_idle,
                     "an idle guest's time follows the host clock (QEMU's icount sleep=on); by default it jumps to "
                     "the next timer: smaller logs, and replays that do not crawl through idle stretches (--net implies it)");
        app.add_flag("--hpet", o.hpet,
                     "give the guest an HPET (off by default: QEMU 10.0 replays of Linux using it can hang after "
                     "a checkpoint load)");
        app.add_option("--checkpoint-every", o.checkpoint_every,
                       "instructions between replay checkpoints (default 50000000; 0: none)");
      },
      [&] { return run(o); });
}
