// qemu_files.h (engine qemu, private): the names of the files engine qemu
// keeps in a recording's directory and in a replay's or recorder's runtime
// directory. The only place that spells them.
#pragma once

namespace xentt::qemu {

// In the recording directory.
inline constexpr const char* kEngineLog = "replay.bin";        // QEMU's record/replay event log
inline constexpr const char* kSnapshots = "snapshots.qcow2";  // checkpoint store (rrsnapshot "init", then ours)
inline constexpr const char* kLogSums = "replay.sums";        // checksums of replay.bin (log_sums.h)
inline constexpr const char* kStoreSums = "store.sums.json";  // digests of the store and disk overlay (recording_sums.h)

// In a runtime directory.
inline constexpr const char* kQmpSocket = "qmp.sock";
inline constexpr const char* kGdbSocket = "gdb.sock";
inline constexpr const char* kPluginSocket = "bt.sock";  // the branch-trace plugin's control
inline constexpr const char* kMemoryFile = "memory";     // guest RAM (memory-backend-file)
inline constexpr const char* kConsoleFile = "console.log";
inline constexpr const char* kQemuLog = "qemu.log";      // QEMU's stdout and stderr
inline constexpr const char* kSnapshotCopy = "snapshots.qcow2";
inline constexpr const char* kDiskCopy = "disk.qcow2";

}  // namespace xentt::qemu
