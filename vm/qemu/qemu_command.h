// qemu_command.h (engine qemu, private): the QEMU command line that records
// or replays a machine, and where QEMU puts the guest's RAM in its file.
//
// Facts this is built on (QEMU 10.0.2, measured on 2-core machines):
// record/replay needs one vCPU under TCG; -global apic-common.vapic=off on
// record and replay, else loading a snapshot taken mid-replay hangs QEMU;
// seeks need a qcow2 image (attached with no device) holding snapshots, the
// first made by rrsnapshot= at the start of the recording; replay-seek
// returns at once and reports its end with a STOP event.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "vm/qemu/qemu_options.h"
#include "xentt/vm/engine.h"
#include "xentt/vm/target.h"

namespace xentt::qemu {

enum class QemuMode { Record, Replay };

struct QemuPaths {
  std::filesystem::path rrfile, snapshots, memory, console, qmp, gdb;
  std::filesystem::path disk;       // the disk overlay this run writes (with a disk)
  std::filesystem::path bt_socket;  // non-empty: load the branch-trace plugin, controlled here
  bool one_insn_per_tb = false;     // ground truth for the plugin: a block per instruction
  bool memory_watch = false;        // the plugin's watch=on: a callback per memory access
  std::filesystem::path console_input;  // record: the serial port listens here (input recorded), waiting for its client
  std::filesystem::path pcap;           // non-empty (with net): filter-dump the traffic here
};

// `path` as a value inside a QEMU option list ("file=PATH,..."): commas
// doubled, which is QEMU's escape for them.
std::string qemu_opt_value(const std::filesystem::path& path);

std::vector<std::string> qemu_command(const MachineSpec& m, const QemuOptions& o, QemuMode mode, const QemuPaths& p);

// The guest-physical ranges of the pc machine's RAM in its memory-backend
// file: below 4 GiB up to the PCI hole, the rest from 4 GiB on (QEMU's
// i440fx split: all of RAM below 3.5 GiB stays low; more is split at 3 GiB).
std::vector<PhysicalRange> pc_ram_layout(std::uint64_t ram_bytes);

}  // namespace xentt::qemu
