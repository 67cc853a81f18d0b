// qemu_options.h (engine qemu, private): engine qemu's own settings of a VM,
// its section of config.json ({"qemu": {...}}). Reader and writer here; the
// command line that applies them is qemu_command.h.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xentt::qemu {

struct QemuOptions {
  // -icount shift=N: 2^N ns of virtual time per instruction (0..10).
  int icount_shift = 0;
  // -icount sleep=on: an idle guest's virtual time follows the host's clock
  // (QEMU's default). Off, it jumps to the next timer at once: recordings of
  // idle guests are smaller, and their replays do not crawl through idle
  // stretches (a Linux boot's index build: 203 s with it on, 33 s off).
  bool icount_sleep = true;
  // The PC's HPET (QEMU's default: on). QEMU 10.0.2 replays of a Linux
  // guest that uses it can livelock after a checkpoint load: the HPET timer
  // re-arms at the current instant and waits for a log checkpoint the vCPU,
  // kicked without end, never reaches.
  bool hpet = true;
  // -device specs the guest needs (e.g. isa-debug-exit,iobase=0xf4,iosize=4).
  std::vector<std::string> devices;
  // The network card of a VM with user networking (MachineSpec::net): a
  // QEMU -device model. rtl8139 by default, as QEMU's replay documentation
  // uses and every recording made before the setting existed ran; a Linux
  // guest whose kernel has only virtio drivers wants virtio-net-pci.
  std::string nic = "rtl8139";

  // A setting absent from the section takes QEMU's own default (above), as
  // recordings made before the setting existed ran. Throws BadInput naming
  // `origin` and the setting for a wrong type or a value out of range.
  static QemuOptions from_json(const nlohmann::json& section, const std::string& origin);
  nlohmann::json to_json() const;
};

}  // namespace xentt::qemu
