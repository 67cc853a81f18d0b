#include "vm/qemu/qemu_record.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

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
