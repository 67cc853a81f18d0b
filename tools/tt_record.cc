// tt_record: record a VM into its state directory, or stop (-S) or destroy
// (-D) a recording. Thin: options, a RecordSession, messages.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tool_main.h"
#include "xentt/base/error.h"
#include "xentt/base/interrupt.h"
#include "xentt/session/record_session.h"

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

RecordSpec spec_of(const Options& o) {
  RecordSpec s;
  s.kernel = o.kernel;
  if (!o.ramdisk.empty()) s.initrd = o.ramdisk;
  if (!o.disk.empty()) s.disk = o.disk;
  s.cmdline = o.cmdline;
  s.memory_mb = o.memory_mb;
  s.net = o.net;
  s.symfiles = o.symfiles;
  s.checkpoint_interval = o.checkpoint_every;
  // Engine qemu's settings; new recordings run with icount sleep=off and no
  // HPET unless asked (see tt_record(1)).
  s.engine_options = {{"icount_shift", o.icount_shift},
                      {"icount_sleep", o.realtime_idle},
                      {"hpet", o.hpet},
                      {"devices", o.devices}};
  return s;
}

// -c: follow the console until the recording ends (or, at a terminal,
// until Ctrl-C, which detaches and leaves the recording running).
int follow_console(RecordSession& rs) {
  bool tty = ::isatty(1);
  if (tty) {
    stop_on_signals();
    fmt::print(stderr, "[console of '{}'; Ctrl-C detaches, the recording goes on]\n", rs.dir().name());
  }
  bool ended = rs.follow(
      [](std::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
      },
      [&] { return tty && take_interrupt() != 0; });
  if (!ended) {
    fmt::print(stderr, "\n[detached; '{}' is still recording (tt_record -S {} stops it)]\n", rs.dir().name(),
               rs.dir().name());
    return 0;
  }
  auto info = rs.dir().recording_info();
  fmt::print(stderr, "recorded '{}': ended by {} (QEMU status {}), {:.2f} s\n", rs.dir().name(), info->ended_by,
             info->exit_status, info->seconds);
  return 0;
}

int run(const Options& o) {
  RecordSession rs(StateDir::locate(o.name, o.dir.empty() ? std::nullopt : std::optional<fs::path>(o.dir)));
  if (o.stop) {
    RecordingState st = rs.stop(60s);
    fmt::print("stopped recording '{}': {}\n", o.name, to_string(st));
    return st == RecordingState::Complete ? 0 : 1;
  }
  if (o.destroy) {
    int replays = rs.destroy();
    fmt::print("destroyed '{}' ({}{})\n", o.name, rs.dir().path().string(),
               replays ? fmt::format(", {} replay(s) ended", replays) : "");
    return 0;
  }
  rs.create(spec_of(o), o.force);
  int pid = rs.start(o.debug);
  if (o.console) return follow_console(rs);
  fmt::print("recording '{}' in the background (recorder pid {}, state {})\n", o.name, pid, rs.dir().path().string());
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
                     "the next timer: smaller logs, and replays that do not crawl through idle stretches (--net and -L imply it)");
        app.add_flag("--hpet", o.hpet,
                     "give the guest an HPET (off by default: QEMU 10.0 replays of Linux using it can hang after "
                     "a checkpoint load)");
        app.add_option("--checkpoint-every", o.checkpoint_every,
                       "instructions between replay checkpoints (default 50000000; 0: none)");
      },
      [&] { return run(o); });
}
