#include "vm/qemu/qemu_attached.h"

#include <chrono>

#include "vm/qemu/gdb_remote.h"
#include "vm/qemu/qemu_command.h"
#include "xentt/base/error.h"

namespace xentt::qemu {
namespace {

using namespace std::chrono_literals;

class QemuAttached final : public Target {
 public:
  QemuAttached(std::vector<Endpoint> endpoints, std::filesystem::path gdb, std::filesystem::path memory,
               std::uint64_t memory_bytes)
      : endpoints_(std::move(endpoints)), gdb_(std::move(gdb)), memory_(std::move(memory)), memory_bytes_(memory_bytes) {}

  std::string engine() const override { return "qemu"; }
  unsigned vcpus() const override { return 1; }  // QEMU's record/replay runs one

  // QEMU's gdbstub stops the guest when a debugger connects, so a
  // connection is a pause; '?' waits for the stub to answer.
  void pause() override { gdb().request("?"); }
  void resume() override { gdb().resume(); }

  Registers registers(unsigned vcpu) override {
    one_vcpu(vcpu);
    return gdb().registers();
  }
  void set_register(unsigned vcpu, Reg r, std::uint64_t value) override {
    one_vcpu(vcpu);
    gdb().set_register(r, value);
  }
  std::optional<std::string> read_virtual(std::uint64_t vaddr, std::size_t len, unsigned vcpu) override {
    one_vcpu(vcpu);
    return gdb().read_memory(vaddr, len);
  }
  std::optional<PhysicalMemory> physical_memory() const override {
    return PhysicalMemory{memory_, pc_ram_layout(memory_bytes_)};
  }
  std::vector<Endpoint> endpoints() const override { return endpoints_; }

 private:
  // A connection per call: the stub takes one client, and a user's gdb may
  // want it between our calls. Cost: a connect and a stop reply.
  GdbRemote gdb() const {
    try {
      return GdbRemote(gdb_, 10s);
    } catch (const Error& e) {
      throw runtime_error(std::string(e.what()) + " (is a debugger attached to this replay? detach it and retry)");
    }
  }
  static void one_vcpu(unsigned vcpu) {
    if (vcpu != 0) throw bad_input("vCPU " + std::to_string(vcpu) + ": engine qemu replays have one vCPU (0)");
  }
  std::vector<Endpoint> endpoints_;
  std::filesystem::path gdb_, memory_;
  std::uint64_t memory_bytes_;
};

}  // namespace

std::unique_ptr<Target> attach_qemu(const std::vector<Endpoint>& endpoints) {
  const Endpoint *gdb = nullptr, *mem = nullptr;
  for (const auto& e : endpoints) {
    if (e.protocol == "gdb-remote") gdb = &e;
    if (e.protocol == "guest-ram") mem = &e;
  }
  if (!gdb) throw bad_input("the replay offers no gdb-remote endpoint to attach to");
  if (!mem || !mem->bytes) throw bad_input("the replay offers no guest-RAM file (with its size) to attach to");
  return std::make_unique<QemuAttached>(endpoints, gdb->path, mem->path, *mem->bytes);
}

}  // namespace xentt::qemu
