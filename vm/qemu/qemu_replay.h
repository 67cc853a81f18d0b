// qemu_replay.h (engine qemu, private): one replay of a recording in a QEMU
// process: a ReplayTarget controlled over QMP (runs, breaks, seeks,
// checkpoints), the gdbstub (registers, virtual memory, breakpoints) and,
// when loaded, the branch-trace plugin (BranchCounting).
#pragma once

#include <filesystem>
#include <memory>

#include "vm/qemu/qemu_options.h"
#include "xentt/vm/engine.h"

namespace xentt::qemu {

// Starts QEMU replaying `recording_dir` with its runtime files in
// `runtime_dir`, paused at instruction 0. Throws Runtime with QEMU's last
// words when it does not come up (and leaves no runtime directory).
std::unique_ptr<ReplayTarget> start_qemu_replay(const MachineSpec& m, const QemuOptions& o,
                                               const std::filesystem::path& recording_dir,
                                               const std::filesystem::path& runtime_dir, const ReplayOptions& opts);

// The last non-empty line of QEMU's log, for error messages.
std::string last_log_line(const std::filesystem::path& log);

}  // namespace xentt::qemu
