#include "vm/qemu/qemu_version.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "xentt/base/error.h"
#include "xentt/base/process.h"

namespace xentt::qemu {

std::string QemuVersion::text() const { return fmt::format("{}.{}.{}", major, minor, micro); }

std::string qemu_binary() {
  const char* q = std::getenv("XENTT_QEMU");
  return q && *q ? q : "qemu-system-x86_64";
}

QemuVersion require_qemu_10() {
  CapturedOutput c;
  try {
    c = run_and_capture({qemu_binary(), "--version"}, 4096);
  } catch (const Error&) {
  }
  QemuVersion v;
  if (std::sscanf(c.out.c_str(), "QEMU emulator version %d.%d.%d", &v.major, &v.minor, &v.micro) < 2) {
    throw runtime_error(qemu_binary() + " not found or not answering --version (run scripts/install-deps)");
  }
  if (v.major < 10) {
    throw bad_input("QEMU " + v.text() + " found (" + qemu_binary() +
                    "); engine qemu needs QEMU >= 10.0 (its replay hangs on mid-replay snapshots before that): "
                    "run scripts/install-deps");
  }
  return v;
}

}  // namespace xentt::qemu
