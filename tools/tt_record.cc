// tt_record: record a VM into its state directory, or stop (-S) or destroy
// (-D) a recording. Thin: options, a RecordSession, messages.
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "terminal.h"
#include "tool_main.h"
#include "xentt/base/unix_socket.h"
#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/interrupt.h"
#include "xentt/session/record_session.h"

namespace fs = std::filesystem;
using namespace xentt;
using namespace std::chrono_literals;

namespace {

struct Options {
  std::string engine = "qemu";
  std::string name;
  bool console = false, debug = false, force = false, stop = false, destroy = false, net = false;
  bool realtime_idle = false, hpet = false;
  uint64_t memory_mb = 64;
  std::string ramdisk, disk, dir, kernel, cmdline, pcap, nic;
  std::vector<std::string> symfiles, devices;
  int icount_shift = 0;
  uint64_t checkpoint_every = 50'000'000;
  std::optional<uint64_t> max_instructions, max_seconds;
  uint64_t max_size = RecordLimits{}.log_bytes;
};

RecordLimits limits_of(const Options& o) {
  RecordLimits l;
  l.instructions = o.max_instructions;
  if (o.max_seconds) l.time = std::chrono::seconds(*o.max_seconds);
  l.log_bytes = o.max_size;
  return l;
}


RecordSpec spec_of(const Options& o) {
  RecordSpec s;
  s.engine = o.engine;
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
  if (!o.nic.empty()) {
    s.net = true;
    s.engine_options["nic"] = o.nic;
  }
  return s;
}

// -c: follow the console until the recording ends. SIGINT (Ctrl-C),
// SIGTERM or SIGHUP stop the recording cleanly, which then ends complete;
// only the escape key (Ctrl-] at a terminal) detaches and leaves it
// recording in the background. At a terminal (stdin and stdout), what is
// typed goes to the guest's serial port (recorded, so replays see it too),
// the terminal raw: Ctrl-C is the guest's then, and SIGTERM, SIGHUP,
// tt_record -S or the guest's poweroff end the recording.
int follow_console(RecordSession& rs, bool typing) {
  tools::Terminal term(typing ? tools::Terminal::Mode::Raw : tools::Terminal::Mode::Cbreak);
  const std::string& name = rs.dir().name();
  // Raw mode takes the terminal's newline translation: our own lines end
  // in CR LF while it lasts.
  const char* nl = term.active() && typing ? "\r\n" : "\n";
  if (term.active())
    fmt::print(stderr, "[console of '{}'; {}Ctrl-] detaches and leaves it recording]{}", name,
               typing ? fmt::format("typing goes to the guest; tt_record -S {} stops the recording, ", name)
                      : "Ctrl-C stops the recording, ",
               nl);
  // The console's socket: input goes there; its output only wakes us (the
  // console file, which has every byte whether or not we are connected, is
  // what we print).
  std::optional<UnixSocket> input;
  if (typing)
    input.emplace(UnixSocket::connect(rs.console_socket(), 30s, [&] {
      return rs.dir().recording_state() == RecordingState::Recording;
    }));
  bool stopping = false, detach = false;
  // Typed bytes go to the guest one every 5 ms (200 a second, far above
  // typing, and a paste arrives whole): QEMU's recorder reads the socket as
  // fast as the serial port's FIFO has room, but queues what it reads as
  // log events delivered later, so a burst overran the 16-byte FIFO and
  // the guest lost the rest (measured: 19 bytes sent at once, the last 3
  // never arrived).
  std::string pending;
  auto wait = [&] {
    if (!input) return std::this_thread::sleep_for(100ms);
    pollfd p[2] = {{0, POLLIN, 0}, {input->fd(), POLLIN, 0}};
    ::poll(p, 2, pending.empty() ? 100 : 5);
    std::string keys = term.take_input();
    if (auto at = keys.find(tools::kDetachKey); at != std::string::npos) {
      keys.resize(at);
      detach = true;
    }
    pending += keys;
    try {
      if (!pending.empty()) {
        input->send_all(pending.substr(0, 1));
        pending.erase(0, 1);
      }
      if (p[1].revents) input->receive(0ms);  // the copy of the output; the file has it
    } catch (const Error&) {
      input.reset();  // the engine went away: the recording is ending
    }
  };
  bool ended = rs.follow(
      [](std::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
      },
      [&] {
        if (int sig = take_interrupt(); sig && !stopping) {
          stopping = true;
          fmt::print(stderr, "{}[{}: stopping the recording of '{}']{}", nl, Interrupted(sig).signal_name(), name, nl);
          try {
            rs.request_stop();
          } catch (const Error&) {  // it ended meanwhile
          }
        }
        if (!typing) detach = term.take_input().find(tools::kDetachKey) != std::string::npos;
        return !stopping && detach;
      },
      wait);
  input.reset();
  if (!ended) {
    fmt::print(stderr, "{}[detached; '{}' is still recording (tt_record -S {} stops it)]{}", nl, name, name, nl);
    return 0;
  }
  auto info = rs.dir().recording_info();
  fmt::print(stderr, "{}recorded '{}': ended by {} (QEMU status {}), {:.2f} s{}", term.active() ? nl : "", name,
             info->ended_by, info->exit_status, info->seconds, nl);
  return 0;
}

int run(const Options& o) {
  // Following the console, a signal stops the recording (follow_console);
  // handled from the start, so one that comes early is not lost.
  if (o.console && !o.stop && !o.destroy) stop_on_signals();
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
  RecordRun run;
  run.console_input = o.console && tools::interactive();
  RecordSpec spec = spec_of(o);
  // Input typed into a guest that idles reaches it only with the idle
  // guest's time following the host's clock (QEMU's icount sleep=on; with
  // it off nothing typed arrived in minutes, measured, QEMU 10.0.2).
  if (run.console_input) spec.engine_options["icount_sleep"] = true;
  if (!o.pcap.empty()) {
    if (!o.net && o.nic.empty()) throw bad_input("--pcap needs --net or --nic: without them the guest has no network");
    run.pcap = fs::absolute(o.pcap);
    require_new_output(run.pcap, "--pcap");
  }
  rs.create(spec, o.force);
  int pid = rs.start(o.debug, limits_of(o), run);
  if (o.console) return follow_console(rs, run.console_input);
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
        app.add_flag("-c,--console", o.console,
                     "follow the console until the guest powers off; at a terminal, typing goes to the guest "
                     "(Ctrl-] detaches)");
        app.add_flag("-d,--debug", o.debug, "print the engine's command line");
        app.add_flag("-f,--force", o.force, "replace an existing recording");
        auto* s = app.add_flag("-S,--stop", o.stop, "stop recording NAME, keep its state");
        auto* d = app.add_flag("-D,--destroy", o.destroy, "destroy NAME's state (stops recording and replays)");
        s->excludes(d);
        app.add_option("-M,--memory", o.memory_mb, "guest memory in MiB (default 64)")->check(CLI::Range(16, 65536));
        app.add_option("-R,--ramdisk", o.ramdisk, "initial ramdisk");
        app.add_option("-L,--disk", o.disk, "base disk image; the VM writes to a copy-on-write overlay");
        app.add_option("-s,--state-dir", o.dir, "state directory (default $XENTT_STATE/NAME)");
        app.add_option("--engine", o.engine,
                       "the engine that records: qemu (the default; engine xen opens live domains and cannot record)");
        app.add_option("-k,--kernel", o.kernel, "kernel to boot (ELF with a PVH note, or bzImage)");
        app.add_option("-a,--append", o.cmdline, "kernel command line");
        app.add_option("--symfile", o.symfiles, "symbol map FILE[@lo-hi][:prefix] (repeatable; default: the kernel)");
        app.add_option("--device", o.devices, "extra QEMU -device SPEC (repeatable), e.g. isa-debug-exit,iobase=0xf4,iosize=4");
        app.add_flag("--net", o.net, "give the guest QEMU user networking (recorded; replays need no network)");
        app.add_option("--nic", o.nic, "the guest's network card with --net (implies it): rtl8139 (default), "
                                       "virtio-net-pci, ...");
        app.add_option("--pcap", o.pcap, "write the guest's network traffic to FILE as pcap (with --net; "
                                         "tt_replay --pcap writes the same file)");
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
        app.add_option("--max-instructions", o.max_instructions, "end the recording after about N guest instructions");
        app.add_option("--max-time", o.max_seconds, "end the recording after about N seconds");
        app.add_option("--max-size", o.max_size,
                       "end the recording when the engine's log reaches SIZE (suffixes K, M, G; default 4G; 0: no limit)")
            ->transform(CLI::AsSizeValue(false));
      },
      [&] { return run(o); });
}
