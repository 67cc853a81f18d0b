// qemu_version.h (engine qemu, private): which QEMU runs, and whether it is
// new enough.
#pragma once

#include <string>

namespace xentt::qemu {

struct QemuVersion {
  int major = 0, minor = 0, micro = 0;
  std::string text() const;
};

// The QEMU binary: $XENTT_QEMU, else qemu-system-x86_64 from PATH.
std::string qemu_binary();

// Runs `qemu --version`. Throws Runtime when QEMU is missing, and BadInput
// naming the version found when it is older than 10.0. Cost: one process.
QemuVersion require_qemu_10();

}  // namespace xentt::qemu
