// xentt/vm_config.h: what a recorded VM is made of, as stored in its state
// directory's config.json (format version 1). Reader and writer live here;
// what the engine makes of it lives in the engine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xentt {

struct VmConfig {
  static constexpr int kFormat = 1;

  std::string name;
  std::string engine = "qemu";
  std::string kernel;                // file name inside the state directory (a copy)
  std::optional<std::string> initrd; // likewise
  std::string cmdline;
  uint64_t memory_mb = 64;
  std::optional<std::string> disk;       // qcow2 overlay inside the state directory
  std::optional<std::string> disk_base;  // the base image it overlays (absolute path)
  bool net = false;                      // QEMU user networking, recorded
  std::vector<std::string> symfiles;     // --symmap specs, FILE[@lo-hi][:prefix]
  int icount_shift = 0;                  // -icount shift=N: 2^N ns of virtual time per instruction
  // -icount sleep=on: an idle guest's virtual time follows the host's clock
  // (QEMU's default). Off, it jumps to the next timer at once: recordings of
  // idle guests are smaller, and their replays do not crawl through idle
  // stretches (a Linux boot's index build: 203 s with it on, 33 s off).
  // Absent from a config: on, as recordings made before the field ran.
  bool icount_sleep = false;
  // The PC's HPET. QEMU 10.0.2 replays of a Linux guest that uses it can
  // livelock after a checkpoint load: the HPET timer re-arms at the current
  // instant and waits for a log checkpoint the vCPU, kicked without end,
  // never reaches. Absent from a config: on, as older recordings had it.
  bool hpet = false;
  uint64_t checkpoint_interval = 50'000'000;  // instructions between replay checkpoints
  std::vector<std::string> extra_devices;     // -device specs the guest needs (e.g. isa-debug-exit)

  std::string to_json() const;
  // Throws BadInput naming `origin` (the file) on malformed JSON, a missing
  // field, or a format version this reader does not know.
  static VmConfig from_json(const std::string& text, const std::string& origin);
};

// VM names are [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 characters: they become
// directory names. Throws BadInput saying what is wrong with `name`.
void validate_vm_name(const std::string& name);

}  // namespace xentt
