#include "vm/qemu/qemu_engine.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/process.h"
#include "vm/qemu/qmp_client.h"
#include "vm/qemu/stuck_watch.h"

namespace xentt {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

std::string QemuVersion::text() const { return fmt::format("{}.{}.{}", major, minor, micro); }

std::string qemu_binary() {
  const char* q = std::getenv("XENTT_QEMU");
  return q && *q ? q : "qemu-system-x86_64";
}

QemuVersion require_qemu_10() {
  // A fixed command line through popen: the binary name is ours or the
  // user's own $XENTT_QEMU.
  std::string cmd = "'" + qemu_binary() + "' --version 2>/dev/null";
  FILE* f = ::popen(cmd.c_str(), "r");
  char line[256] = {0};
  bool got = f && std::fgets(line, sizeof line, f);
  if (f) ::pclose(f);
  QemuVersion v;
  if (!got || std::sscanf(line, "QEMU emulator version %d.%d.%d", &v.major, &v.minor, &v.micro) < 2) {
    throw runtime_error(qemu_binary() + " not found or not answering --version (run scripts/install-deps)");
  }
  if (v.major < 10) {
    throw bad_input("QEMU " + v.text() + " found (" + qemu_binary() +
                    "); engine qemu needs QEMU >= 10.0 (its replay hangs on mid-replay snapshots before that): "
                    "run scripts/install-deps");
  }
  return v;
}

static bool is_isa_debug_exit(const std::string& spec) { return spec.starts_with("isa-debug-exit"); }

std::vector<std::string> qemu_command(const StateDir& dir, const VmConfig& cfg, QemuMode mode, const QemuPaths& p) {
  std::string mb = std::to_string(cfg.memory_mb) + "M";
  std::vector<std::string> a = {
      qemu_binary(), "-nodefaults", "-no-user-config", "-display", "none",
      "-machine", std::string("pc,memory-backend=ram0,hpet=") + (cfg.hpet ? "on" : "off"),
      "-accel", p.one_insn_per_tb ? "tcg,one-insn-per-tb=on" : "tcg",
      "-smp", "1", "-m", mb,
      // Guest RAM in a shared file, so VMI tools map guest physical memory.
      "-object", "memory-backend-file,id=ram0,size=" + mb + ",mem-path=" + p.memory.string() + ",share=on",
      "-global", "apic-common.vapic=off",
      "-kernel", dir.file(cfg.kernel).string(), "-append", cfg.cmdline,
      "-serial", "file:" + p.console.string(),
      "-qmp", "unix:" + p.qmp.string() + ",server=on,wait=off",
      // The snapshot image: no device, only a home for snapshots.
      "-drive", "file=" + p.snapshots.string() + ",if=none,id=rrdrive,node-name=rrsnap",
      "-icount", fmt::format("shift={},sleep={},rr={},rrfile={},rrsnapshot=init", cfg.icount_shift,
                             cfg.icount_sleep ? "on" : "off",
                             mode == QemuMode::Record ? "record" : "replay", p.rrfile.string()),
      // A guest poweroff pauses QEMU instead of ending it: we still read the
      // final instruction count, then quit.
      "-no-reboot", "-no-shutdown",
  };
  if (cfg.initrd) a.insert(a.end(), {"-initrd", dir.file(*cfg.initrd).string()});
  if (cfg.disk) {
    // The overlay takes the rrsnapshot "init" like the snapshot image (QEMU
    // snapshots every writable drive), so loading "init" at the start of a
    // replay restores the disk as the recording found it. Replays write to
    // their own copies. blkreplay records the I/O completions.
    a.insert(a.end(), {"-drive", "file=" + p.disk.string() + ",if=none,id=img-direct",
                       "-drive", "driver=blkreplay,if=none,image=img-direct,id=img-blkreplay", "-device",
                       "ide-hd,drive=img-blkreplay"});
  }
  if (cfg.net) {
    // Recorded by filter-replay; a replay feeds the recorded packets and
    // needs no network. rtl8139, as QEMU's replay documentation uses: with
    // e1000 a replay of the demo guest hung at its start (QEMU 10.0.2).
    a.insert(a.end(), {"-netdev", "user,id=net0", "-device", "rtl8139,netdev=net0", "-object",
                       "filter-replay,id=replay0,netdev=net0"});
  }
  for (const auto& d : cfg.extra_devices) {
    // isa-debug-exit calls exit() in the vCPU thread. In a replay that would
    // race with the end of the log (measured: status 33 or 0 from run to
    // run) and take QEMU away before we read the final instruction count.
    // The device has no state and raises no interrupts, so leaving it out of
    // a replay changes nothing the guest can see: its port write is dropped.
    if (mode == QemuMode::Replay && is_isa_debug_exit(d)) continue;
    a.insert(a.end(), {"-device", d});
  }
  if (mode == QemuMode::Replay && !p.bt_socket.empty()) {
    a.insert(a.end(), {"-plugin", branch_plugin_path().string() + ",ctl=" + p.bt_socket.string()});
  }
  if (mode == QemuMode::Replay) {
    a.insert(a.end(), {"-chardev", "socket,id=gdb0,path=" + p.gdb.string() + ",server=on,wait=off", "-gdb",
                       "chardev:gdb0", "-S"});
  }
  return a;
}

// The last non-empty line of QEMU's log, for error messages.
static std::string last_log_line(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last.empty() ? "no message" : last;
}

static void create_snapshot_image(const fs::path& path) {
  SpawnOptions o;
  o.argv = {"qemu-img", "create", "-q", "-f", "qcow2", path.string(), "1G"};
  Child img = Child::spawn(o);
  if (img.wait() != 0) throw runtime_error("qemu-img could not create " + path.string());
}

// ---------------------------------------------------------------- replay

class QemuReplay final : public Replay {
 public:
  QemuReplay(const StateDir& dir, fs::path runtime, bool master, const ReplayFeatures& features)
      : runtime_(std::move(runtime)) {
    VmConfig cfg = dir.config();
    fs::create_directories(runtime_);
    fs::permissions(runtime_, fs::perms::owner_all, fs::perm_options::replace);
    paths_.rrfile = dir.file("recording/replay.bin");
    paths_.snapshots = master ? dir.file("recording/snapshots.qcow2") : runtime_ / "snapshots.qcow2";
    // A private copy, so replays can run side by side (QEMU locks images,
    // and internal snapshots are not seen through a backing-file overlay).
    // Cost: one copy of the snapshot image, shared blocks where possible.
    if (!master) clone_file(dir.file("recording/snapshots.qcow2"), paths_.snapshots);
    if (cfg.disk) {
      paths_.disk = master ? dir.file(*cfg.disk) : runtime_ / "disk.qcow2";
      if (!master) clone_file(dir.file(*cfg.disk), paths_.disk);
    }
    paths_.memory = runtime_ / "memory";
    paths_.console = runtime_ / "console.log";
    paths_.qmp = runtime_ / "qmp.sock";
    paths_.gdb = runtime_ / "gdb.sock";
    if (features.branch_counter) paths_.bt_socket = runtime_ / "bt.sock";
    paths_.one_insn_per_tb = features.one_insn_per_tb;
    log_ = runtime_ / "qemu.log";
    memory_bytes_ = cfg.memory_mb << 20;
    SpawnOptions o;
    o.argv = qemu_command(dir, cfg, QemuMode::Replay, paths_);
    o.stdout_file = o.stderr_file = log_;
    child_ = Child::spawn(o);
    try {
      qmp_.emplace(paths_.qmp, 60s, [this] { return child_.running(); });
    } catch (const Error&) {
      std::string why = last_log_line(log_);
      child_.terminate();
      std::error_code ec;
      fs::remove_all(runtime_, ec);  // nothing of a failed start stays behind
      throw runtime_error("QEMU failed to start the replay: " + why);
    }
    if (features.branch_counter) counter_.emplace(paths_.bt_socket);
  }

  ~QemuReplay() override {
    if (!detached_) {
      try {
        stop();
      } catch (...) {
      }
    }
  }

  uint64_t icount() override {
    last_icount_ = qmp().execute("query-replay", json::object(), 10s)["icount"].get<uint64_t>();
    return last_icount_;
  }

  void seek_to_icount(uint64_t target, const std::function<void(uint64_t)>& progress) override {
    move_to(target, icount(), /*seek=*/true, progress);
  }

  void run_to_icount(uint64_t target, const std::function<void(uint64_t)>& progress) override {
    uint64_t cur = icount();
    move_to(target, cur, /*seek=*/target < cur, progress);
  }

  void move_to(uint64_t target, uint64_t cur, bool seek, const std::function<void(uint64_t)>& progress) {
    if (target == cur) return;
    qmp().clear_events();
    if (!seek) {
      if (at_end_ && end_icount_ && target > *end_icount_) throw beyond_end(target);
      qmp().execute("replay-break", {{"icount", target}});
      qmp().execute("cont");
    } else {
      // Restores the nearest snapshot at or before target, runs to it.
      qmp().execute("replay-seek", {{"icount", target}});
      at_end_ = false;
    }
    json e = wait_stop(progress);
    if (e["event"] == "SHUTDOWN") {
      at_end_ = true;
      end_icount_ = icount();
      throw beyond_end(target);
    }
    uint64_t now = icount();
    if (now != target) {
      throw runtime_error(fmt::format("replay stopped at icount {} instead of {} ({})", now, target, log_.string()));
    }
  }

  bool run_to_eip(uint64_t eip) override {
    if (at_end_) return false;  // nothing executes after the end of the log
    GdbRemote gdb(paths_.gdb, 10s);
    gdb.insert_breakpoint(eip);
    qmp().clear_events();
    gdb.resume();
    StuckWatch stuck;
    for (unsigned polls = 1;; polls++) {
      if (gdb.wait_stop(200ms)) {
        // gdb reports every stop: the breakpoint, or the replay pausing at
        // the end of its log (measured, QEMU 10.0.2: one instruction past
        // the recorded end, with or without a SHUTDOWN event).
        bool hit = gdb.registers().rip == eip;
        at_end_ = !hit;
        gdb.remove_breakpoint(eip);
        return hit;
      }
      qmp().pump();
      if (qmp().take_event("SHUTDOWN")) {
        // The guest reached the end: gdb still waits for its stop reply;
        // the replay is paused (-no-shutdown).
        at_end_ = true;
        return false;
      }
      throw_if_exited();
      if (polls % 5 == 0) throw_if_stuck(stuck, icount());
    }
  }

  uint64_t run_to_end(const std::function<void(uint64_t)>& progress) override {
    if (!at_end_) {
      qmp().clear_events();
      try {
        qmp().execute("replay-delete-break");
      } catch (const Error&) {  // none set
      }
      qmp().execute("cont");
      while (wait_stop(progress)["event"] != "SHUTDOWN") {
      }
      at_end_ = true;
    }
    end_icount_ = icount();
    return *end_icount_;
  }

  void checkpoint(const std::string& tag) override {
    // An earlier, interrupted index build may have saved it already; a
    // snapshot of this recording at this icount is the same whoever took it.
    for (const auto& dev : qmp().execute("query-block")) {
      if (dev.value("device", "") != "rrdrive" || !dev.contains("inserted")) continue;
      for (const auto& snap : dev["inserted"]["image"].value("snapshots", json::array()))
        if (snap.value("name", "") == tag) return;
    }
    snapshot_job("snapshot-save", tag, "saving checkpoint");
  }

  void load_checkpoint(const std::string& tag) override {
    snapshot_job("snapshot-load", tag, "loading checkpoint");
    at_end_ = false;
  }

  BranchCounter* branch_counter() override { return counter_ ? &*counter_ : nullptr; }

  void resume() override {
    if (at_end_) return;
    qmp().clear_events();
    qmp().execute("cont");
  }

  void pause() override {
    if (!qmp().execute("query-status").value("running", false)) return;
    qmp().clear_events();
    qmp().execute("stop");
    if (qmp().wait_event("STOP", 60s, {"SHUTDOWN"})["event"] == "SHUTDOWN") at_end_ = true;
  }

  bool log_exhausted(std::chrono::milliseconds settle) override {
    if (at_end_) return true;
    try {
      qmp().wait_event("SHUTDOWN", settle);
      at_end_ = true;
    } catch (const Error&) {
      if (!child_.running()) throw;
    }
    return at_end_;
  }

  X86Registers registers() override { return GdbRemote(paths_.gdb, 10s).registers(); }
  std::optional<std::string> read_memory(uint64_t vaddr, size_t len) override {
    return GdbRemote(paths_.gdb, 10s).read_memory(vaddr, len);
  }

  AttachInfo attach_info() const override {
    AttachInfo a;
    a.gdb_socket = paths_.gdb;
    a.qmp_socket = paths_.qmp;
    a.memory_file = paths_.memory;
    a.console_file = paths_.console;
    a.runtime_dir = runtime_;
    a.memory_bytes = memory_bytes_;
    a.pid = child_.pid();
    return a;
  }

  void stop() override {
    if (qmp_ && child_.running()) {
      try {
        qmp_->execute("quit", json::object(), 5s);
      } catch (const Error&) {
      }
      child_.wait_for(5s);
    }
    child_.terminate();
    qmp_.reset();
    std::error_code ec;
    fs::remove_all(runtime_, ec);
  }

  void detach() override { detached_ = true; }
  void set_reached(uint64_t icount) override { reached_ = icount; }

 private:
  // Runs a snapshot-save/-load job on the snapshot image and waits for it
  // (the whole VM state: seconds for large guests).
  void snapshot_job(const std::string& command, const std::string& tag, const std::string& what) {
    std::string job = command + "-" + tag + "-" + std::to_string(++jobs_);
    qmp().clear_events();
    qmp().execute(command, {{"job-id", job}, {"tag", tag}, {"vmstate", "rrsnap"}, {"devices", {"rrsnap"}}});
    for (;;) {
      json e = qmp().wait_event("JOB_STATUS_CHANGE", 600s);
      if (e["data"]["id"] == job && e["data"]["status"] == "concluded") break;
    }
    std::string error;
    for (const auto& j : qmp().execute("query-jobs"))
      if (j["id"] == job && j.contains("error")) error = j["error"].get<std::string>();
    qmp().execute("job-dismiss", {{"id", job}});
    if (!error.empty()) throw runtime_error(what + " " + tag + " failed: " + error);
  }

  // QEMU gone in the middle of a replay: its status and its last words.
  void throw_if_exited() {
    if (child_.running()) return;
    throw runtime_error(fmt::format("QEMU exited during the replay (status {}): {} (log: {})",
                                    child_.try_wait().value_or(-1), last_log_line(log_), log_.string()));
  }

  // Waits for the guest to pause (STOP) or reach the end of the recording
  // (SHUTDOWN; -no-shutdown keeps QEMU paused there), reporting progress.
  json wait_stop(const std::function<void(uint64_t)>& progress) {
    // Measured, QEMU 10.0.2, a Linux boot that ends in a panic and reboot
    // (-no-reboot): a replay that runs past the end of such a log never
    // sends SHUTDOWN; its vCPU spins on timer deadlines and the instruction
    // count stays where the log ran out. A count that does not move while
    // the VM runs, past where the log is known to reach (set_reached), is
    // that end: pause there and report it as SHUTDOWN. Idle stretches of
    // the same guest also freeze the count for seconds, so never below.
    constexpr auto stalled_after = 10s;
    StuckWatch stuck;  // also says how long the count has been frozen
    for (;;) {
      try {
        return qmp().wait_event("STOP", 1s, {"SHUTDOWN"});
      } catch (const Error&) {
        throw_if_exited();
        // Still running: ask where it is. A damaged log can wedge QEMU's
        // main loop (measured: a bit-flipped replay.bin spins with the
        // lock held), so a short deadline turns a hang into a report.
        uint64_t now;
        try {
          now = qmp().execute("query-replay", json::object(), 5s)["icount"].get<uint64_t>();
        } catch (const Error& e) {
          // A closed socket is QEMU exiting (a damaged log ends it with a
          // message): give it a moment to be reaped, its message says more.
          child_.wait_for(2s);
          throw_if_exited();
          throw runtime_error(fmt::format(
              "the replay stopped making progress after icount {}: QEMU no longer answers (recording damaged?): {}",
              last_icount_, e.what()));
        }
        last_icount_ = now;
        if (progress) progress(now);
        throw_if_stuck(stuck, now);
        if (reached_ && now >= *reached_ && stuck.frozen_for() >= stalled_after &&
            qmp().execute("query-status").value("running", false)) {
          qmp().execute("stop");
          qmp().wait_event("STOP", 60s);
          return {{"event", "SHUTDOWN"}, {"data", {{"reason", "log exhausted (no progress)"}}}};
        }
      }
    }
  }

  // Samples the count into `watch`. Below the end a frozen count with QEMU
  // busy is a replay that will never move again (xentt/stuck_watch.h); past
  // it, wait_stop() reads a frozen count as the end.
  void throw_if_stuck(StuckWatch& watch, uint64_t now) {
    const bool stuck = watch.stuck(now, StuckWatch::Clock::now(), process_cpu_time(child_.pid()));
    if (!stuck || (reached_ && now >= *reached_)) return;
    throw runtime_error(fmt::format(
        "the replay is stuck at icount {}: QEMU has run for {:.0f} s without executing a guest instruction "
        "(the recording is damaged, or was made by another QEMU build)",
        now, watch.frozen_for().count()));
  }

  QmpClient& qmp() {
    if (!qmp_) throw runtime_error("the replay has been stopped");
    return *qmp_;
  }
  Error beyond_end(uint64_t target) const {
    return bad_input(fmt::format("icount {} is beyond the end of the recording (it ends at icount {})", target,
                                 end_icount_.value_or(0)));
  }

  fs::path runtime_;
  fs::path log_;
  QemuPaths paths_;
  uint64_t memory_bytes_ = 0;
  Child child_;
  std::optional<QmpClient> qmp_;
  bool at_end_ = false;
  std::optional<uint64_t> reached_;  // set_reached()
  uint64_t last_icount_ = 0;  // the last instruction count QEMU reported
  std::optional<uint64_t> end_icount_;
  bool detached_ = false;
  std::optional<BranchCounter> counter_;
  int jobs_ = 0;
};

// ---------------------------------------------------------------- engine

class QemuEngine final : public Engine {
 public:
  QemuEngine() : version_(require_qemu_10()) {}
  std::string name() const override { return "qemu"; }
  std::string version() const override { return version_.text(); }

  RecordingInfo record(const StateDir& dir, const RecordOptions& opts) override {
    VmConfig cfg = dir.config();
    fs::create_directories(dir.file("recording"));
    QemuPaths p;
    p.rrfile = dir.file("recording/replay.bin");
    p.snapshots = dir.file("recording/snapshots.qcow2");
    p.memory = dir.file("record.mem");
    p.console = dir.file("console.log");
    p.qmp = dir.file("record-qmp.sock");
    if (cfg.disk) p.disk = dir.file(*cfg.disk);
    fs::path log = dir.file("record-qemu.log");
    fs::remove(p.qmp);
    create_snapshot_image(p.snapshots);

    auto argv = qemu_command(dir, cfg, QemuMode::Record, p);
    if (opts.verbose) {
      std::string line;
      for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
      std::fprintf(stderr, "xentt: %s\n", line.c_str());
    }
    auto started = std::chrono::steady_clock::now();
    SpawnOptions o;
    o.argv = argv;
    o.stdout_file = o.stderr_file = log;
    Child qemu = Child::spawn(o);
    RecordingInfo info;
    info.engine_version = "qemu " + version_.text();
    std::optional<QmpClient> qmp;
    try {
      qmp.emplace(p.qmp, 60s, [&] { return qemu.running(); });
    } catch (const Error&) {
      // QEMU ended before QMP came up: a bad command line or missing file.
    }
    bool qmp_came_up = qmp.has_value();
    if (qmp_came_up && opts.started) opts.started();
    for (;;) {
      if (auto st = qemu.try_wait()) {
        info.exit_status = *st;
        info.ended_by = "guest-exit";
        break;
      }
      bool shutdown = false;
      if (qmp) {
        try {
          qmp->pump();
          shutdown = qmp->take_event("SHUTDOWN").has_value();
        } catch (const Error&) {
          qmp.reset();  // QEMU is going away; its exit status comes next
        }
      }
      bool stop = opts.stop_requested && opts.stop_requested();
      if ((shutdown || stop) && qmp) {
        info.ended_by = shutdown ? "guest-poweroff" : "stopped";
        try {
          qmp->execute("quit", json::object(), 10s);
        } catch (const Error&) {
        }
        info.exit_status = qemu.wait_for(30s).value_or(-1);
        if (info.exit_status < 0) info.exit_status = qemu.terminate();
        // QEMU leaves with 0 after our quit; anything else is the guest's
        // own exit (isa-debug-exit) racing the SHUTDOWN event.
        if (info.exit_status != 0 && info.exit_status < 128) info.ended_by = "guest-exit";
        break;
      }
      std::this_thread::sleep_for(stop ? 10ms : 100ms);
    }
    info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::error_code ec;
    fs::remove(p.memory, ec);
    fs::remove(p.qmp, ec);
    if (info.exit_status >= 128) {
      throw runtime_error(fmt::format("QEMU died (signal {}) while recording {}: the recording is incomplete",
                                      info.exit_status - 128, dir.name()));
    }
    if (!qmp_came_up && info.exit_status != 0) {
      throw runtime_error("QEMU could not start the recording: " + last_log_line(log) + " (log: " + log.string() + ")");
    }
    return info;
  }

  std::unique_ptr<Replay> start_replay(const StateDir& dir, const fs::path& runtime_dir,
                                       bool use_master_snapshots, const ReplayFeatures& features) override {
    return std::make_unique<QemuReplay>(dir, runtime_dir, use_master_snapshots, features);
  }

 private:
  QemuVersion version_;
};

std::unique_ptr<Engine> make_qemu_engine() { return std::make_unique<QemuEngine>(); }

std::unique_ptr<Engine> make_engine(const std::string& name) {
  if (name == "qemu") return make_qemu_engine();
  if (name == "xen") {
    throw bad_input("engine xen is not built yet; record with engine qemu (the default)");
  }
  throw bad_input("unknown engine '" + name + "' (known: qemu)");
}

}  // namespace xentt
