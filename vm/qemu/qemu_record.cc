#include "vm/qemu/qemu_record.h"

#include <fmt/format.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include "vm/qemu/console_relay.h"
#include "vm/qemu/qemu_command.h"
#include "vm/qemu/qemu_files.h"
#include "vm/qemu/qemu_replay.h"
#include "vm/qemu/qmp_client.h"
#include "vm/qemu/recording_sums.h"
#include "xentt/base/error.h"
#include "xentt/base/process.h"

namespace xentt::qemu {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// What ended the guest, from QEMU's SHUTDOWN event (-no-reboot turns a
// reset, a triple fault included, into one).
std::string ended_by(const json& shutdown) {
  std::string reason = shutdown.value("data", json::object()).value("reason", "");
  if (reason == "guest-reset") return "guest-reset";
  if (reason == "guest-panic") return "guest-panic";
  return "guest-poweroff";
}

// The limits of RecordLimits, checked twice a second while recording.
class LimitWatch {
 public:
  LimitWatch(const RecordLimits& limits, const QemuOptions& qo, fs::path log, fs::path dir,
             std::chrono::steady_clock::time_point started)
      : limits_(limits), log_(std::move(log)), dir_(std::move(dir)), started_(started),
        // A guest that runs no instruction for this long has no timer left
        // to wake it. With icount sleep=off an idle guest's virtual time
        // jumps to its next timer at once, so a count frozen for seconds is
        // final (measured, QEMU 10.0.2: the demo guest after its last line,
        // hlt with interrupts off, icount frozen while the log grew 500 KB/s,
        // 600 MB in 12 minutes). With sleep=on an idle guest waits for its
        // timers in real time, so the wait is longer.
        halted_after_(qo.icount_sleep ? std::chrono::seconds(60) : std::chrono::seconds(5)) {}

  // How long the record loop may sleep before the next look.
  std::chrono::steady_clock::duration sleep() const {
    return std::clamp(next_ - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration(1ms),
                      std::chrono::steady_clock::duration(100ms));
  }

  // The ended_by of the limit reached, or "". Cost (every half second; every
  // 10 ms with an instruction limit): a QMP round trip, a stat and a statvfs.
  std::string check(QmpClient& qmp, std::vector<std::string>& warnings) {
    auto now = std::chrono::steady_clock::now();
    if (now < next_) return "";
    next_ = now + 500ms;
    if (limits_.time && now - started_ >= *limits_.time) return "max-time";
    std::error_code ec;
    std::uint64_t bytes = fs::file_size(log_, ec);
    if (!ec && limits_.log_bytes && bytes >= limits_.log_bytes) return "max-size";
    struct statvfs fsinfo {};
    if (::statvfs(dir_.c_str(), &fsinfo) == 0) {
      std::uint64_t free_bytes = std::uint64_t(fsinfo.f_bavail) * fsinfo.f_frsize;
      if (free_bytes < limits_.min_free_bytes) {
        warnings.push_back(fmt::format("the file system of {} has {} MiB left: the recording was ended before the disk "
                                       "filled (make room, then record again for a longer one)",
                                       dir_.string(), free_bytes >> 20));
        return "disk-full";
      }
    }
    std::uint64_t icount = qmp.execute("query-replay", json::object(), 10s).value("icount", std::uint64_t{0});
    if (limits_.instructions && icount >= *limits_.instructions) return "max-instructions";
    // An instruction limit is looked at every 10 ms (a QMP round trip of
    // ~0.1 ms): QEMU records 400-600M instructions/s here, and half-second
    // looks ended a 30M limit at 240M.
    if (limits_.instructions) next_ = now + 10ms;
    if (icount != icount_) {
      icount_ = icount;
      moved_ = now;
    } else if (now - moved_ >= halted_after_) {
      return "guest-halted";
    }
    return "";
  }

 private:
  RecordLimits limits_;
  fs::path log_, dir_;
  std::chrono::steady_clock::time_point started_, next_{}, moved_ = std::chrono::steady_clock::now();
  std::chrono::seconds halted_after_;
  std::uint64_t icount_ = ~0ull;
};

}  // namespace

static void create_snapshot_image(const fs::path& path) {
  SpawnOptions o;
  o.argv = {"qemu-img", "create", "-q", "-f", "qcow2", path.string(), "1G"};
  Child img = Child::spawn(o);
  if (img.wait() != 0) throw runtime_error("qemu-img could not create " + path.string());
}


RecordResult record_qemu(const MachineSpec& m, const QemuOptions& qo, const QemuVersion& version,
                       const fs::path& recording, const RecordOptions& opts) {
  fs::create_directories(recording);
  QemuPaths p;
  p.rrfile = recording / kEngineLog;
  p.snapshots = recording / kSnapshots;
  p.memory = opts.runtime_dir / kMemoryFile;
  p.console = opts.console;
  p.pcap = opts.pcap;
  // Console input: QEMU's serial socket (private) held by the relay, which
  // takes the user's terminal at opts.console_input.
  std::optional<ConsoleRelay> relay;
  if (!opts.console_input.empty()) {
    p.console_input = opts.runtime_dir / "serial.sock";
    fs::remove(p.console_input);
    relay.emplace(opts.console_input);
  }
  p.qmp = opts.runtime_dir / kQmpSocket;
  if (m.disk) p.disk = *m.disk;
  fs::path log = opts.runtime_dir / kQemuLog;
  fs::remove(p.qmp);
  create_snapshot_image(p.snapshots);

  auto argv = qemu_command(m, qo, QemuMode::Record, p);
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
  // QEMU starts the guest only once the relay holds the serial socket.
  if (relay) {
    try {
      relay->start(p.console_input, 60s, [&] { return qemu.running(); });
    } catch (const Error&) {
      if (qemu.running()) throw;
      // QEMU ended before it listened (a bad command line or file): its
      // own words, from its log, are the error below.
    }
  }
  RecordResult info;
  info.engine_version = "qemu " + version.text();
  std::optional<QmpClient> qmp;
  try {
    qmp.emplace(p.qmp, 60s, [&] { return qemu.running(); });
  } catch (const Error&) {
    // QEMU ended before QMP came up: a bad command line or missing file.
  }
  bool qmp_came_up = qmp.has_value();
  if (qmp_came_up && opts.started) opts.started();
  LimitWatch limits(opts.limits, qo, recording / kEngineLog, recording, started);
  for (;;) {
    if (auto st = qemu.try_wait()) {
      info.exit_status = *st;
      info.ended_by = "guest-exit";
      break;
    }
    std::optional<json> shutdown;
    std::string limit;
    if (qmp) {
      try {
        qmp->pump();
        shutdown = qmp->take_event("SHUTDOWN");
        if (!shutdown) limit = limits.check(*qmp, info.warnings);
      } catch (const Error&) {
        qmp.reset();  // QEMU is going away; its exit status comes next
      }
    }
    bool stop = opts.stop_requested && opts.stop_requested();
    if ((shutdown || stop || !limit.empty()) && qmp) {
      info.ended_by = shutdown ? ended_by(*shutdown) : stop ? "stopped" : limit;
      try {
        // Paused first: "quit" alone let the guest run on while QEMU shut
        // down (measured: a 30M-instruction limit ended at 240M).
        if (!shutdown) {
          qmp->execute("stop", json::object(), 10s);
          qmp->wait_event("STOP", 10s, {"SHUTDOWN"});
        }
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
    std::this_thread::sleep_for(stop ? 10ms : limits.sleep());
  }
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::error_code ec;
  fs::remove(p.memory, ec);
  fs::remove(p.qmp, ec);
  if (info.exit_status >= 128) {
    throw runtime_error(fmt::format("QEMU died (signal {}) while recording {}: the recording is incomplete",
                                    info.exit_status - 128, m.name));
  }
  if (!qmp_came_up && info.exit_status != 0) {
    throw runtime_error("QEMU could not start the recording: " + last_log_line(log) + " (log: " + log.string() + ")");
  }
  // Checksums of the files as recorded: every replay checks them first
  // (recording_sums.h). Without them the recording still replays,
  // unchecked, so failing to take them must not cost the recording.
  try {
    seal_log(recording);
    seal_store(m, recording);
  } catch (const Error& e) {
    info.warnings.push_back(std::string("no checksums for the recording's files (") + e.what() +
                            "); replays will not check them");
  }
  return info;
}

}  // namespace xentt::qemu
