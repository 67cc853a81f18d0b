#include "vm/qemu/qemu_replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <thread>

#include "vm/qemu/gdb_remote.h"
#include "vm/qemu/plugin/protocol.h"
#include "vm/qemu/plugin_client.h"
#include "vm/qemu/qemu_command.h"
#include "vm/qemu/qemu_files.h"
#include "vm/qemu/qmp_client.h"
#include "vm/qemu/stuck_watch.h"
#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/process.h"

namespace xentt::qemu {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

// The last non-empty line of QEMU's log, for error messages.
std::string last_log_line(const fs::path& log) {
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last.empty() ? "no message" : last;
}

namespace {

class QemuReplay final : public ReplayTarget, public BranchCounting {
 public:
  QemuReplay(const MachineSpec& m, const QemuOptions& o, const fs::path& recording, fs::path runtime,
             const ReplayOptions& opts)
      : runtime_(std::move(runtime)) {
    const bool master = master_ = opts.use_master_snapshots;
    fs::create_directories(runtime_);
    fs::permissions(runtime_, fs::perms::owner_all, fs::perm_options::replace);
    paths_.rrfile = recording / kEngineLog;
    paths_.snapshots = master ? recording / kSnapshots : runtime_ / kSnapshotCopy;
    if (m.disk) paths_.disk = master ? *m.disk : runtime_ / kDiskCopy;
    paths_.memory = runtime_ / kMemoryFile;
    paths_.console = runtime_ / kConsoleFile;
    paths_.qmp = runtime_ / kQmpSocket;
    paths_.gdb = runtime_ / kGdbSocket;
    if (opts.branch_counter) paths_.bt_socket = runtime_ / kPluginSocket;
    paths_.one_insn_per_tb = opts.one_insn_per_tb;
    paths_.memory_watch = opts.memory_watch;
    paths_.pcap = opts.pcap;
    log_ = runtime_ / kQemuLog;
    memory_bytes_ = m.memory_mb << 20;
    try {
      // Private copies, so replays can run side by side (QEMU locks images,
      // and internal snapshots are not seen through a backing-file overlay).
      // Cost: one copy of the snapshot image, shared blocks where possible.
      if (!master) clone_file(recording / kSnapshots, paths_.snapshots);
      if (m.disk && !master) clone_file(*m.disk, paths_.disk);
      SpawnOptions so;
      so.argv = qemu_command(m, o, QemuMode::Replay, paths_);
      so.stdout_file = so.stderr_file = log_;
      child_ = Child::spawn(so);
      try {
        qmp_.emplace(paths_.qmp, 60s, [this] { return child_.running(); });
      } catch (const Error&) {
        throw runtime_error("QEMU failed to start the replay: " + last_log_line(log_));
      }
      if (opts.branch_counter) plugin_.emplace(paths_.bt_socket);
    } catch (...) {
      // Nothing of a failed start stays behind: no QEMU, no runtime directory.
      child_.terminate();
      qmp_.reset();
      std::error_code ec;
      fs::remove_all(runtime_, ec);
      throw;
    }
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

  void seek_to_icount(uint64_t target, const Progress& progress) override {
    move_to(target, icount(), /*seek=*/true, progress);
  }

  void run_to_icount(uint64_t target, const Progress& progress) override {
    uint64_t cur = icount();
    move_to(target, cur, /*seek=*/target < cur, progress);
  }

  void move_to(uint64_t target, uint64_t cur, bool seek, const Progress& progress) {
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
    json e = wait_stop(progress, seek ? std::nullopt : std::optional<uint64_t>(cur));
    if (e["event"] == "SHUTDOWN") {
      at_end_ = true;
      end_icount_ = icount();
      throw beyond_end(target);
    }
    uint64_t now = icount();
    if (now != target) {
      throw runtime_error(fmt::format("replay stopped at icount {} instead of {} (QEMU said: {})", now, target,
                                      last_log_line(log_)));
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
        bool hit = gdb.registers().rip() == eip;
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

  RunStop run_to_breakpoints(std::span<const uint64_t> eips, std::optional<uint64_t> until,
                             const std::function<bool()>& interrupted) override {
    if (at_end_) return RunStop::End;
    if (until && *until <= icount()) return RunStop::Icount;
    GdbRemote gdb(paths_.gdb, 10s);
    for (uint64_t e : eips) gdb.insert_breakpoint(e);
    qmp().clear_events();
    if (until) {
      qmp().execute("replay-break", {{"icount", *until}});
    } else {
      try {
        qmp().execute("replay-delete-break");
      } catch (const Error&) {  // none set
      }
    }
    gdb.resume();
    StuckWatch stuck;
    bool asked_to_stop = false;
    RunStop why;
    for (unsigned polls = 1;; polls++) {
      if (auto reply = gdb.wait_stop(200ms)) {
        // Every pause sends the waiting client a stop reply: T05 for a
        // breakpoint, T02 for a replay-break or a QMP stop (measured, QEMU
        // 10.0.2), and one past the recorded end (see run_to_eip).
        const uint64_t rip = gdb.registers().rip();
        const uint64_t now = icount();
        if (reply->starts_with("T05") && std::find(eips.begin(), eips.end(), rip) != eips.end()) {
          why = RunStop::Breakpoint;
        } else if (until && now == *until) {
          why = RunStop::Icount;
        } else if (asked_to_stop) {
          why = RunStop::Interrupted;
        } else {
          at_end_ = true;
          why = RunStop::End;
        }
        break;
      }
      qmp().pump();
      if (qmp().take_event("SHUTDOWN")) {
        at_end_ = true;  // gdb still waits for its stop reply; closing it drops the breakpoints
        return RunStop::End;
      }
      if (!asked_to_stop && interrupted && interrupted()) {
        qmp().execute("stop");
        asked_to_stop = true;
      }
      throw_if_exited();
      if (polls % 5 == 0) throw_if_stuck(stuck, icount());
    }
    for (uint64_t e : eips) gdb.remove_breakpoint(e);
    if (until) {
      try {
        qmp().execute("replay-delete-break");
      } catch (const Error&) {  // it fired
      }
    }
    return why;
  }

  uint64_t run_to_end(const Progress& progress) override {
    if (!at_end_) {
      qmp().clear_events();
      try {
        qmp().execute("replay-delete-break");
      } catch (const Error&) {  // none set
      }
      const uint64_t from = icount();
      qmp().execute("cont");
      while (wait_stop(progress, from)["event"] != "SHUTDOWN") {
      }
      at_end_ = true;
    }
    end_icount_ = icount();
    return *end_icount_;
  }

  void checkpoint(const std::string& tag) override {
    // An earlier, interrupted index build may have saved it already; a
    // snapshot of this recording at this icount is the same whoever took it.
    if (!has_checkpoint(tag)) snapshot_job("snapshot-save", tag, "saving checkpoint");
  }

  void load_checkpoint(const std::string& tag) override {
    snapshot_job("snapshot-load", tag, "loading checkpoint");
    at_end_ = false;
  }

  void delete_checkpoint(const std::string& tag) override {
    if (has_checkpoint(tag)) snapshot_job("snapshot-delete", tag, "deleting checkpoint");
  }

  BranchCounting* branch_counting() override { return plugin_ ? this : nullptr; }

  // BranchCounting, through the plugin. settle() tells it where the vCPU is
  // paused (registers and the stack bytes at rsp, through the gdbstub).
  // Cost: two gdbstub round trips and one to the plugin.
  void settle() override {
    Registers r = registers(0);
    const uint64_t rsp = r.rsp();
    plugin().settle(r.rip(), rsp, read_virtual(rsp, plugin_protocol::kSettleStackBytes, 0));
  }
  BranchStatus status() override { return plugin().status(); }
  void set(uint64_t icount, uint64_t brctr) override { plugin().set(icount, brctr); }
  void watch(uint64_t brctr) override { plugin().watch(brctr); }
  void arm(const fs::path& path, const std::string& header_json) override { plugin().arm(path, header_json); }
  uint64_t disarm() override { return plugin().disarm(); }
  void close_log() override { plugin().close_log(); }
  void watch_memory(std::span<const MemoryWatch> ranges, WatchMode mode) override {
    plugin().watch_memory(ranges, mode);
  }
  MemoryHits memory_hits() override { return plugin().memory_hits(); }

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

  // Target.
  std::string engine() const override { return "qemu"; }
  unsigned vcpus() const override { return 1; }  // QEMU's record/replay runs one
  Registers registers(unsigned vcpu) override {
    one_vcpu(vcpu);
    return GdbRemote(paths_.gdb, 10s).registers();
  }
  void set_register(unsigned vcpu, Reg r, uint64_t value) override {
    one_vcpu(vcpu);
    GdbRemote(paths_.gdb, 10s).set_register(r, value);
  }
  std::optional<std::string> read_virtual(uint64_t vaddr, size_t len, unsigned vcpu) override {
    one_vcpu(vcpu);
    return GdbRemote(paths_.gdb, 10s).read_memory(vaddr, len);
  }
  std::optional<PhysicalMemory> physical_memory() const override {
    return PhysicalMemory{paths_.memory, pc_ram_layout(memory_bytes_)};
  }
  std::vector<Endpoint> endpoints() const override {
    return {{"gdb", "gdb-remote", paths_.gdb, std::nullopt},
            {"qmp", "qmp", paths_.qmp, std::nullopt},
            {"memory", "guest-ram", paths_.memory, memory_bytes_},
            {"console", "serial-log", paths_.console, std::nullopt}};
  }

  fs::path runtime_dir() const override { return runtime_; }
  fs::path console_file() const override { return paths_.console; }
  int engine_pid() const override { return child_.pid(); }
  bool engine_running() override { return child_.running(); }

  void stop() override {
    if (master_ && qmp_ && child_.running()) {
      // The recording's own checkpoint store is open: let QEMU close it.
      try {
        qmp_->execute("quit", json::object(), 5s);
      } catch (const Error&) {
      }
      child_.wait_for(5s);
      child_.terminate();
    } else {
      // Everything this QEMU writes is a private copy in the runtime
      // directory, removed next, so nothing needs a clean exit. Measured
      // (QEMU 10.0.2): a replay interrupted while it runs may take 5 s to
      // act on "quit" and ignore SIGTERM, so a Ctrl-C of trace_task took
      // 7 s; SIGKILL takes milliseconds.
      child_.kill();
    }
    qmp_.reset();
    plugin_.reset();
    try {
      remove_tree(runtime_);
    } catch (const Error&) {  // best effort: the next replay reaps what is left
    }
  }

  void detach() override { detached_ = true; }
  void set_reached(uint64_t icount) override { reached_ = icount; }

 private:
  // Runs a snapshot-save/-load job on the snapshot image and waits for it
  // (the whole VM state: seconds for large guests).
  void snapshot_job(const std::string& command, const std::string& tag, const std::string& what) {
    std::string job = command + "-" + tag + "-" + std::to_string(++jobs_);
    qmp().clear_events();
    json args = {{"job-id", job}, {"tag", tag}, {"devices", {"rrsnap"}}};
    if (command != "snapshot-delete") args["vmstate"] = "rrsnap";  // the delete job has no vmstate argument
    qmp().execute(command, args);
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

  // Whether the snapshot image holds snapshot `tag`. Cost: one QMP round trip.
  bool has_checkpoint(const std::string& tag) {
    for (const auto& dev : qmp().execute("query-block")) {
      if (dev.value("device", "") != "rrdrive" || !dev.contains("inserted")) continue;
      for (const auto& snap : dev["inserted"]["image"].value("snapshots", json::array()))
        if (snap.value("name", "") == tag) return true;
    }
    return false;
  }

  // QEMU gone in the middle of a replay: its status and its last words.
  void throw_if_exited() {
    if (child_.running()) return;
    // QEMU's last words, not its log's path: the log lives in the runtime
    // directory, which is gone by the time the user reads this.
    throw runtime_error(fmt::format("QEMU exited during the replay after icount {} (status {}): {}", last_icount_,
                                    child_.try_wait().value_or(-1), last_log_line(log_)));
  }

  // Waits for the guest to pause (STOP) or reach the end of the recording
  // (SHUTDOWN; -no-shutdown keeps QEMU paused there), reporting progress.
  //
  // `from`: the count this run continued from (a plain cont, not a seek).
  // Measured, QEMU 10.0.2, the demo guest: past the end of its log the
  // vCPU runs on 1 to 11 instructions (differing from run to run) before it
  // parks, and a replay-break at the count where it parks succeeds. Going
  // on from there, no instruction executes, no SHUTDOWN comes (the log's
  // end was passed before the stop), and the vCPU thread spins: a count
  // frozen where the run began, with QEMU busy, is that end. (A guest
  // idling there in a --realtime-idle recording freezes the count too, but
  // QEMU sleeps meanwhile.) Cost: about 3 s, only then.
  json wait_stop(const Progress& progress, std::optional<uint64_t> from = std::nullopt) {
    // Measured, QEMU 10.0.2, a Linux boot that ends in a panic and reboot
    // (-no-reboot): a replay that runs past the end of such a log never
    // sends SHUTDOWN; its vCPU spins on timer deadlines and the instruction
    // count stays where the log ran out. A count that does not move while
    // the VM runs, past where the log is known to reach (set_reached), is
    // that end: pause there and report it as SHUTDOWN. Idle stretches of
    // the same guest also freeze the count for seconds, so never below.
    constexpr auto stalled_after = 10s;
    StuckWatch stuck;  // also says how long the count has been frozen
    StuckWatch parked_watch(2s);
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
        const bool parked = from && now == *from &&
                            parked_watch.stuck(now, StuckWatch::Clock::now(), process_cpu_time(child_.pid()));
        if (!parked) throw_if_stuck(stuck, now);
        if ((parked || (reached_ && now >= *reached_ && stuck.frozen_for() >= stalled_after)) &&
            qmp().execute("query-status").value("running", false)) {
          qmp().execute("stop");
          qmp().wait_event("STOP", 60s);
          return {{"event", "SHUTDOWN"}, {"data", {{"reason", "log exhausted (no progress)"}}}};
        }
      }
    }
  }

  // Samples the count into `watch`. Below the end a frozen count with QEMU
  // busy is a replay that will never move again (stuck_watch.h); past
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
  PluginClient& plugin() {
    if (!plugin_) throw bad_input("this replay runs without the branch-trace plugin: branch counts are not available");
    return *plugin_;
  }
  static void one_vcpu(unsigned vcpu) {
    if (vcpu != 0) throw bad_input(fmt::format("vCPU {} does not exist (engine qemu replays one vCPU)", vcpu));
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
  bool master_ = false;  // replaying on the recording's own checkpoint store
  std::optional<PluginClient> plugin_;
  int jobs_ = 0;
};

}  // namespace

std::unique_ptr<ReplayTarget> start_qemu_replay(const MachineSpec& m, const QemuOptions& o,
                                               const fs::path& recording_dir, const fs::path& runtime_dir,
                                               const ReplayOptions& opts) {
  return std::make_unique<QemuReplay>(m, o, recording_dir, runtime_dir, opts);
}

}  // namespace xentt::qemu
