#include "vm/qemu/qemu_command.h"

#include <fmt/format.h>

#include "vm/qemu/plugin_client.h"
#include "vm/qemu/qemu_version.h"

namespace xentt::qemu {

static bool is_isa_debug_exit(const std::string& spec) { return spec.starts_with("isa-debug-exit"); }

std::string qemu_opt_value(const std::filesystem::path& path) {
  std::string out;
  for (char c : path.string()) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

// The serial port: output to the console file. With console input, a
// listening socket whose chardev also logs what the guest writes to that
// file; QEMU waits (wait=on) until the recorder's ConsoleRelay holds the
// socket, which it then does to the end, so no write ever fails (a failed
// one would be replayed as failed: missing from the replay's console).
// Only -serial chardevs are registered for record/replay, so input typed
// there is recorded, and a replay (with the file backend) feeds it from
// the log.
static std::string serial_spec(QemuMode mode, const QemuPaths& p) {
  if (mode == QemuMode::Record && !p.console_input.empty())
    return "unix:" + qemu_opt_value(p.console_input) + ",server=on,wait=on,logfile=" + qemu_opt_value(p.console);
  return "file:" + p.console.string();
}

std::vector<std::string> qemu_command(const MachineSpec& m, const QemuOptions& o, QemuMode mode, const QemuPaths& p) {
  std::string mb = std::to_string(m.memory_mb) + "M";
  std::vector<std::string> a = {
      qemu_binary(), "-nodefaults", "-no-user-config", "-display", "none",
      "-machine", std::string("pc,memory-backend=ram0,hpet=") + (o.hpet ? "on" : "off"),
      "-accel", p.one_insn_per_tb ? "tcg,one-insn-per-tb=on" : "tcg",
      "-smp", "1", "-m", mb,
      // Guest RAM in a shared file, so VMI tools map guest physical memory.
      "-object", "memory-backend-file,id=ram0,size=" + mb + ",mem-path=" + p.memory.string() + ",share=on",
      "-global", "apic-common.vapic=off",
      "-kernel", m.kernel.string(), "-append", m.cmdline,
      "-serial", serial_spec(mode, p),
      "-qmp", "unix:" + p.qmp.string() + ",server=on,wait=off",
      // The snapshot image: no device, only a home for snapshots.
      "-drive", "file=" + p.snapshots.string() + ",if=none,id=rrdrive,node-name=rrsnap",
      "-icount", fmt::format("shift={},sleep={},rr={},rrfile={},rrsnapshot=init", o.icount_shift,
                             o.icount_sleep ? "on" : "off",
                             mode == QemuMode::Record ? "record" : "replay", p.rrfile.string()),
      // A guest poweroff pauses QEMU instead of ending it: we still read the
      // final instruction count, then quit.
      "-no-reboot", "-no-shutdown",
  };
  if (m.initrd) a.insert(a.end(), {"-initrd", m.initrd->string()});
  if (m.disk) {
    // The overlay takes the rrsnapshot "init" like the snapshot image (QEMU
    // snapshots every writable drive), so loading "init" at the start of a
    // replay restores the disk as the recording found it. Replays write to
    // their own copies. blkreplay records the I/O completions.
    a.insert(a.end(), {"-drive", "file=" + p.disk.string() + ",if=none,id=img-direct",
                       "-drive", "driver=blkreplay,if=none,image=img-direct,id=img-blkreplay", "-device",
                       "ide-hd,drive=img-blkreplay"});
  }
  if (m.net) {
    // Recorded by filter-replay; a replay feeds the recorded packets and
    // needs no network. rtl8139 by default, as QEMU's replay documentation
    // uses: with e1000 a replay of the demo guest hung at its start (QEMU
    // 10.0.2); virtio-net-pci replays a Linux guest's DHCP and pings.
    a.insert(a.end(), {"-netdev", "user,id=net0", "-device", o.nic + ",netdev=net0", "-object",
                       "filter-replay,id=replay0,netdev=net0"});
    // After filter-replay: a netdev's filters see the packets it sends
    // (to the guest) in their order and those sent to it (the guest's) in
    // reverse, so the dump sees the guest's packets before filter-replay
    // (which drops them in a replay) and the packets for the guest as
    // filter-replay passes them on, from the log, in record and replay
    // alike. filter-dump stamps packets with QEMU's virtual clock, which
    // icount drives: the record's and the replay's files are identical.
    if (!p.pcap.empty())
      a.insert(a.end(), {"-object", "filter-dump,id=dump0,netdev=net0,file=" + qemu_opt_value(p.pcap)});
  }
  for (const auto& d : o.devices) {
    // isa-debug-exit calls exit() in the vCPU thread. In a replay that would
    // race with the end of the log (measured: status 33 or 0 from run to
    // run) and take QEMU away before we read the final instruction count.
    // The device has no state and raises no interrupts, so leaving it out of
    // a replay changes nothing the guest can see: its port write is dropped.
    if (mode == QemuMode::Replay && is_isa_debug_exit(d)) continue;
    a.insert(a.end(), {"-device", d});
  }
  if (mode == QemuMode::Replay && !p.bt_socket.empty()) {
    a.insert(a.end(), {"-plugin", branch_plugin_path().string() + ",ctl=" + p.bt_socket.string() +
                                      (p.memory_watch ? ",watch=on" : "")});
  }
  if (mode == QemuMode::Replay) {
    a.insert(a.end(), {"-chardev", "socket,id=gdb0,path=" + p.gdb.string() + ",server=on,wait=off", "-gdb",
                       "chardev:gdb0", "-S"});
  }
  return a;
}

std::vector<PhysicalRange> pc_ram_layout(std::uint64_t ram_bytes) {
  // hw/i386/pc_piix.c: max-ram-below-4g is 3.5 GiB; RAM that does not fit
  // below it is split at 3 GiB instead (gigabyte_align), the rest mapped
  // from 4 GiB on. The memory backend holds the low part first.
  constexpr std::uint64_t kGiB = 1ull << 30;
  std::uint64_t low = ram_bytes >= 3 * kGiB + kGiB / 2 ? 3 * kGiB : ram_bytes;
  std::vector<PhysicalRange> r{{0, low, 0}};
  if (ram_bytes > low) r.push_back({4 * kGiB, ram_bytes - low, low});
  return r;
}

}  // namespace xentt::qemu
