// vm/xen/xen_engine.cc: engine xen in the registry. It opens live domUs
// (open_live) for VMI; recording and replaying are refused, with what does
// work instead.
#include <fmt/format.h>

#include "vm/xen/xen_target.h"
#include "xentt/base/error.h"
#include "xentt/vm/engine.h"

namespace xentt::xen {

namespace {

// Why, and what to do instead: stock Xen has no record/replay, and a whole
// Xen host recorded under QEMU's record/replay diverges in dom0's boot
// (measured with Xen 4.17 and QEMU 10.0.2, docs/xen.md).
[[noreturn]] void refuse(const char* what) {
  throw bad_input(fmt::format(
      "engine xen cannot {}: Xen has no record/replay (a Xen host recorded under QEMU does not replay either). "
      "Record the same kernel with engine qemu (tt_record -k VMLINUZ NAME; a PVH kernel boots there as is), and "
      "use engine xen for live domains: tt_vmi --xen DOMAIN",
      what));
}

class XenEngine final : public Engine {
 public:
  std::string name() const override { return "xen"; }
  std::string version() const override { return "libxenctrl 4.17"; }
  nlohmann::json normalize_options(const nlohmann::json&, const MachineSpec&) const override { refuse("record"); }
  void create_disk_overlay(const std::filesystem::path&, const std::filesystem::path&) override { refuse("record"); }
  RecordResult record(const MachineSpec&, const std::filesystem::path&, const RecordOptions&) override {
    refuse("record");
  }
  void check_recording(const MachineSpec&, const std::filesystem::path&) const override { refuse("replay"); }
  void seal_recording(const MachineSpec&, const std::filesystem::path&) override { refuse("replay"); }
  std::string recording_id(const std::filesystem::path&) const override { refuse("replay"); }
  std::unique_ptr<ReplayTarget> start_replay(const MachineSpec&, const std::filesystem::path&,
                                             const std::filesystem::path&, const ReplayOptions&) override {
    refuse("replay");
  }
  std::unique_ptr<Target> attach(const std::vector<Endpoint>&) const override { refuse("replay"); }
  std::unique_ptr<Target> open_live(const std::string& domain) const override {
    return std::make_unique<XenDomainTarget>(domain);
  }
};

std::unique_ptr<Engine> make_xen_engine() { return std::make_unique<XenEngine>(); }
XENTT_REGISTER_ENGINE("xen", make_xen_engine);

}  // namespace

}  // namespace xentt::xen
