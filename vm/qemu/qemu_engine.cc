// Engine qemu: QEMU's deterministic record/replay (-icount rr=record|replay)
// controlled over QMP, its gdbstub, our TCG plugin, guest RAM in a shared
// memory-backend file. It registers itself as "qemu".
#include <fmt/format.h>

#include <filesystem>

#include "vm/qemu/qemu_attached.h"
#include "vm/qemu/qemu_options.h"
#include "vm/qemu/qemu_record.h"
#include "vm/qemu/qemu_replay.h"
#include "vm/qemu/qemu_version.h"
#include "vm/qemu/recording_sums.h"
#include "xentt/base/error.h"
#include "xentt/base/process.h"
#include "xentt/vm/engine.h"

namespace xentt::qemu {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class QemuEngine final : public Engine {
 public:
  QemuEngine() : version_(require_qemu_10()) {}
  std::string name() const override { return "qemu"; }
  std::string version() const override { return version_.text(); }

  json normalize_options(const json& section, const MachineSpec& m) const override {
    QemuOptions o = QemuOptions::from_json(section, "engine qemu");
    // A networked guest's peers live in real time, and QEMU 10.0.2 records
    // a guest with user networking, or with a disk (blkreplay), and
    // sleep=off at 100% CPU without it ever printing (measured: the demo
    // guest with -L spun for 10 minutes, its log at 8 KB; with sleep=on it
    // recorded in 0.9 s).
    if (m.net || m.disk) o.icount_sleep = true;
    return o.to_json();
  }

  void create_disk_overlay(const fs::path& base, const fs::path& overlay) override {
    // qemu-img tells the format of the user's image; we do not guess.
    CapturedOutput info = run_and_capture({"qemu-img", "info", "--output=json", base.string()});
    json j = json::parse(info.out, nullptr, false);
    if (info.status != 0 || !j.is_object() || !j.contains("format") || !j["format"].is_string())
      throw bad_input("qemu-img cannot read the disk image " + base.string());
    SpawnOptions img;
    img.argv = {"qemu-img", "create", "-q", "-f", "qcow2", "-b", base.string(), "-F", j["format"].get<std::string>(),
                overlay.string()};
    if (Child::spawn(img).wait() != 0) throw runtime_error("qemu-img could not create the disk overlay " + overlay.string());
  }

  RecordResult record(const MachineSpec& m, const fs::path& recording_dir, const RecordOptions& opts) override {
    return record_qemu(m, options(m), version_, recording_dir, opts);
  }

  void check_recording(const MachineSpec& m, const fs::path& recording_dir) const override {
    check_recording_files(m, recording_dir);
  }

  void seal_recording(const MachineSpec& m, const fs::path& recording_dir) override { seal_store(m, recording_dir); }

  std::string recording_id(const fs::path& recording_dir) const override { return qemu::recording_id(recording_dir); }

  std::unique_ptr<ReplayTarget> start_replay(const MachineSpec& m, const fs::path& recording_dir,
                                             const fs::path& runtime_dir, const ReplayOptions& opts) override {
    // Checkpoints will be added to the recording's own store: its digests
    // hold again only when seal_recording() takes them anew.
    if (opts.use_master_snapshots) unseal_store(recording_dir);
    return start_qemu_replay(m, options(m), recording_dir, runtime_dir, opts);
  }

  std::unique_ptr<Target> attach(const std::vector<Endpoint>& endpoints) const override {
    return attach_qemu(endpoints);
  }

 private:
  static QemuOptions options(const MachineSpec& m) {
    return QemuOptions::from_json(m.engine_options, m.name + "'s qemu settings");
  }
  QemuVersion version_;
};

std::unique_ptr<Engine> make_qemu_engine() { return std::make_unique<QemuEngine>(); }

}  // namespace

XENTT_REGISTER_ENGINE("qemu", make_qemu_engine);

}  // namespace xentt::qemu
