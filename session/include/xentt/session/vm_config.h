// xentt/session/vm_config.h: what a recorded VM is made of, as stored in its
// state directory's config.json. Reader and writer live here; what an
// engine makes of its own settings lives in the engine.
//
// Format 2 (this writer): the engine-neutral machine at the top, the
// engine's own settings in a section named after the engine
// ({"engine": "qemu", "qemu": {...}}). Format 1 (before 2026-11-26) kept
// engine qemu's settings at the top (icount_shift, icount_sleep, hpet,
// extra_devices); the reader moves them into the qemu section.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace xentt {

struct VmConfig {
  static constexpr int kFormat = 2;

  std::string name;
  std::string engine = "qemu";
  std::string kernel;                    // file name inside the state directory (a copy)
  std::optional<std::string> initrd;     // likewise
  std::string cmdline;
  uint64_t memory_mb = 64;               // 16 .. 65536
  std::optional<std::string> disk;       // overlay inside the state directory
  std::optional<std::string> disk_base;  // the base image it overlays (absolute path)
  bool net = false;                      // the engine's user networking, recorded
  std::vector<std::string> symfiles;     // --symfile specs, FILE[@lo-hi][:prefix]
  uint64_t checkpoint_interval = 50'000'000;  // instructions between replay checkpoints
  // The engine's own settings (the section named `engine`), as the engine
  // normalized them when the VM was recorded.
  nlohmann::json engine_options = nlohmann::json::object();

  // A pcap of the guest's traffic needs a network: throws BadInput naming
  // the VM and `pcap` when it has none.
  void require_network_for(const std::string& pcap) const;

  std::string to_json() const;
  // Throws BadInput naming `origin` (the file) and the field on malformed
  // JSON, a missing or mistyped field, a value out of range, a file name
  // that leaves the state directory, or a format version this reader does
  // not know.
  static VmConfig from_json(const std::string& text, const std::string& origin);
};

// VM names are [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 characters: they become
// directory names. Throws BadInput saying what is wrong with `name`.
void validate_vm_name(const std::string& name);

}  // namespace xentt
