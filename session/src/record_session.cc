#include "xentt/session/record_session.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "xentt/base/daemon.h"
#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/process.h"
#include "xentt/session/background_replay.h"
#include "xentt/vm/engine.h"

namespace xentt {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// The recorder process's stop request (tt_record -S is a SIGTERM). Not
// interrupt.h's: that one makes socket waits throw, and the recorder must
// finish the recording cleanly instead.
std::atomic<bool> g_recorder_stop{false};
extern "C" void on_recorder_signal(int) { g_recorder_stop = true; }

fs::path must_exist(const fs::path& file, const char* what) {
  if (file.empty()) throw bad_input(fmt::format("no {} given", what));
  fs::path p = fs::absolute(file);
  if (!fs::is_regular_file(p)) throw bad_input(fmt::format("{} {} does not exist or is not a file", what, file.string()));
  return p;
}

}  // namespace

void RecordSession::create(const RecordSpec& spec, bool replace) {
  // Everything the user named, checked before anything is made.
  fs::path kernel = must_exist(spec.kernel, "kernel (-k)");
  std::optional<fs::path> initrd, disk;
  if (spec.initrd) initrd = must_exist(*spec.initrd, "ramdisk (-R)");
  if (spec.disk) disk = must_exist(*spec.disk, "disk (-L)");
  std::vector<std::string> symfiles;
  for (const auto& s : spec.symfiles) {
    // FILE[@lo-hi][:prefix]: make FILE absolute, keep the rest.
    auto cut = s.find_first_of("@:");
    fs::path f = must_exist(s.substr(0, cut), "symbol file");
    symfiles.push_back(f.string() + (cut == std::string::npos ? "" : s.substr(cut)));
  }
  if (symfiles.empty()) symfiles.push_back(StateDir::kKernel);  // the kernel's own DWARF, relative to the state dir

  VmConfig c;
  c.name = dir_.name();
  c.engine = spec.engine;
  c.kernel = StateDir::kKernel;
  if (initrd) c.initrd = StateDir::kInitrd;
  if (disk) {
    c.disk = StateDir::kDiskOverlay;
    c.disk_base = disk->string();
  }
  c.cmdline = spec.cmdline;
  c.memory_mb = spec.memory_mb;
  c.net = spec.net;
  c.symfiles = symfiles;
  c.checkpoint_interval = spec.checkpoint_interval;
  // The engine first: refuse a missing or old one, and its settings,
  // before anything is created.
  auto engine = make_engine(c.engine);
  c.engine_options = engine->normalize_options(spec.engine_options, dir_.machine(c));
  VmConfig::from_json(c.to_json(), "the new config");  // ranges and names, as every reader checks them

  switch (dir_.ownership()) {
    case Ownership::Missing: break;
    case Ownership::NotOurs: {
      std::error_code ec;
      // An empty directory of the user's may hold the recording (create() takes it).
      if (fs::is_directory(fs::symlink_status(dir_.path(), ec)) && fs::is_empty(dir_.path(), ec)) break;
      dir_.require_ours("refusing to record into");  // throws: never replace what is not ours
      break;
    }
    case Ownership::Ours:
    case Ownership::Legacy: {
      auto st = dir_.exists() ? dir_.recording_state() : RecordingState::Incomplete;
      if (st == RecordingState::Recording) throw bad_input("'" + dir_.name() + "' is being recorded right now");
      if (!replace) {
        throw bad_input("'" + dir_.name() + "' already has a state directory at " + dir_.path().string() + " (" +
                        (dir_.exists() ? to_string(st) : "damaged") + "): -f replaces it, -D destroys it");
      }
      end_background_replays(dir_);
      dir_.destroy();
    }
  }

  dir_.create();
  // Incomplete from the first moment: a crash from here on reads as
  // "terminated abnormally", never as a finished recording.
  dir_.mark_incomplete(0);
  clone_file(kernel, dir_.file(c.kernel));
  if (initrd) clone_file(*initrd, dir_.file(*c.initrd));
  if (disk) engine->create_disk_overlay(*disk, dir_.file(*c.disk));
  std::string list = "# symbol maps of this VM: FILE[@lo-hi][:prefix], relative to this directory\n";
  for (const auto& s : symfiles) list += s + "\n";
  write_file_atomic(dir_.file(StateDir::kSymfiles), list);
  dir_.write_config(c);
}

int RecordSession::record(bool verbose, const RecordLimits& limits, const RecordRun& run,
                          const std::function<void(const std::string&)>& ready) {
  FileLock lock(dir_.file(StateDir::kRecordLock), "'" + dir_.name() + "' is already being recorded");
  dir_.mark_incomplete(::getpid());
  struct sigaction sa {};
  sa.sa_handler = on_recorder_signal;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  VmConfig c = dir_.config();
  auto engine = make_engine(c.engine);
  fs::path runtime = dir_.file(StateDir::kRecorderDir);
  fs::create_directories(runtime);
  fs::permissions(runtime, fs::perms::owner_all, fs::perm_options::replace);
  RecordOptions opts;
  opts.console = dir_.file(StateDir::kConsole);
  opts.runtime_dir = runtime;
  opts.verbose = verbose;
  opts.limits = limits;
  if (run.console_input) opts.console_input = console_socket();
  opts.pcap = run.pcap;
  opts.stop_requested = [] { return g_recorder_stop.load(); };
  opts.started = [&] { ready(fmt::format("{}", ::getpid())); };
  RecordResult r = engine->record(dir_.machine(c), dir_.file(StateDir::kRecordingDir), opts);
  for (const auto& w : r.warnings) ::dprintf(2, "warning: %s\n", w.c_str());
  try {
    dir_.seal();  // before the recording becomes complete: a complete one always has its sums
  } catch (const Error& e) {
    ::dprintf(2, "warning: no checksums for %s's files (%s); replays will not check them\n", dir_.name().c_str(),
              e.what());
  }
  dir_.write_recording_info({r.ended_by, r.exit_status, r.seconds, r.engine_version});
  dir_.mark_complete();
  ::dprintf(2, "recording complete: ended by %s, status %d, %.2f s\n", r.ended_by.c_str(), r.exit_status, r.seconds);
  return 0;
}

fs::path RecordSession::console_socket() const { return dir_.file(StateDir::kRecorderDir) / "console.sock"; }

int RecordSession::start(bool verbose, const RecordLimits& limits, const RecordRun& run) {
  try {
    if (!run.pcap.empty()) dir_.config().require_network_for(run.pcap.string());
    std::string pid = run_in_background(dir_.file(StateDir::kRecorderLog).string(),
                                        [&](const auto& ready) { return record(verbose, limits, run, ready); });
    return std::stoi(pid);
  } catch (const Error&) {
    // The recorder failed before the engine ran: nothing was recorded, so do
    // not leave a state directory that looks like a crashed recording (the
    // start's error is what the user needs to see).
    try {
      dir_.destroy();
    } catch (const Error&) {
    }
    throw;
  }
}

bool RecordSession::wait_recorder_gone(std::chrono::seconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (dir_.recording_state() == RecordingState::Recording) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

void RecordSession::request_stop() {
  if (!dir_.exists()) throw bad_input("no recorded VM '" + dir_.name() + "' at " + dir_.path().string());
  if (dir_.recording_state() != RecordingState::Recording) {
    throw bad_input("'" + dir_.name() + "' is not recording (" + to_string(dir_.recording_state()) + ")");
  }
  auto pid = dir_.recorder_pid();
  if (!pid || !process_alive(*pid)) throw runtime_error("the recorder of '" + dir_.name() + "' cannot be found");
  ::kill(*pid, SIGTERM);
}

RecordingState RecordSession::stop(std::chrono::seconds timeout) {
  request_stop();
  if (!wait_recorder_gone(timeout))
    throw runtime_error(fmt::format("the recorder of '{}' did not stop within {} s", dir_.name(), timeout.count()));
  return dir_.recording_state();
}

int RecordSession::destroy() {
  if (dir_.ownership() == Ownership::Missing)
    throw bad_input("no state directory for '" + dir_.name() + "' at " + dir_.path().string());
  dir_.require_ours("refusing to destroy");  // a user's directory, a file, a link: before anything is touched
  if (dir_.recording_state() == RecordingState::Recording) {
    if (auto pid = dir_.recorder_pid(); pid && process_alive(*pid)) ::kill(*pid, SIGKILL);
    if (!wait_recorder_gone(30s)) throw runtime_error("the recorder of '" + dir_.name() + "' does not die");
  }
  ReapReport r = end_background_replays(dir_);
  dir_.destroy();
  return r.ended + r.orphans_removed;
}

bool RecordSession::follow(const std::function<void(std::string_view)>& out, const std::function<bool()>& detach,
                           const std::function<void()>& wait) {
  FileTail console(dir_.file(StateDir::kConsole));
  for (;;) {
    bool recording = dir_.recording_state() == RecordingState::Recording;  // before the look: it then sees all
    console.take(out);
    if (!recording) break;
    if (detach && detach()) return false;
    if (wait)
      wait();
    else
      std::this_thread::sleep_for(100ms);
  }
  if (dir_.recording_state() != RecordingState::Complete || !dir_.recording_info()) {
    throw runtime_error("the recording of '" + dir_.name() + "' terminated abnormally (see " +
                        dir_.file(StateDir::kRecorderLog).string() + ")");
  }
  return true;
}

}  // namespace xentt
