// xentt/qemu_engine.h: engine qemu. QEMU's deterministic record/replay
// (-icount rr=record|replay), controlled over QMP; gdbstub on a unix socket;
// guest RAM in a shared memory-backend file.
//
// Facts this engine is built on (QEMU 10.0.2, measured on 2-core machines):
// record/replay needs one vCPU under TCG; -global apic-common.vapic=off on
// record and replay, else loading a snapshot taken mid-replay hangs QEMU;
// seeks need a qcow2 image (attached with no device) holding snapshots, the
// first made by rrsnapshot= at the start of the recording; replay-seek
// returns at once and reports its end with a STOP event.
#pragma once

#include <string>
#include <vector>

#include "xentt/vm/engine.h"

namespace xentt {

struct QemuVersion {
  int major = 0, minor = 0, micro = 0;
  std::string text() const;
};

// The QEMU binary: $XENTT_QEMU, else qemu-system-x86_64 from PATH.
std::string qemu_binary();

// Runs `qemu --version`. Throws Runtime when QEMU is missing, and BadInput
// naming the version found when it is older than 10.0.
QemuVersion require_qemu_10();

std::unique_ptr<Engine> make_qemu_engine();

// The QEMU command line for recording or replaying `dir` (exposed for tests
// and for `tt_record -d`, which prints it).
enum class QemuMode { Record, Replay };
struct QemuPaths {
  std::filesystem::path rrfile, snapshots, memory, console, qmp, gdb;
  std::filesystem::path disk;  // the disk overlay this run writes (with -L)
  std::filesystem::path bt_socket;  // non-empty: load the branch-trace plugin, controlled here
  bool one_insn_per_tb = false;     // ground truth for the plugin: a block per instruction
};
std::vector<std::string> qemu_command(const StateDir& dir, const VmConfig& cfg, QemuMode mode, const QemuPaths& p);

}  // namespace xentt
