// recording_sums.h (engine qemu, private): the checksums of a recording's
// files. The engine log (replay.bin) has block sums (log_sums.h), taken once
// when the recording ends. The files replays start from, the checkpoint
// store (snapshots.qcow2) and the disk overlay, change when the index build
// adds checkpoints: their digests (store.sums.json, xentt/base/file_digest.h)
// are taken when the recording ends, dropped when a replay on the
// recording's own store starts, and taken again once the index is built.
#pragma once

#include <filesystem>
#include <string>

#include "xentt/vm/engine.h"

namespace xentt::qemu {

// Writes replay.sums. Cost: one read of the log.
void seal_log(const std::filesystem::path& recording);
// Writes store.sums.json for the store and `m`'s disk overlay / removes it.
void seal_store(const MachineSpec& m, const std::filesystem::path& recording);
void unseal_store(const std::filesystem::path& recording);
// Engine::check_recording: the log against replay.sums, the store and the
// overlay against store.sums.json, each where those exist (recordings made
// before them, or an index build under way, replay unchecked).
void check_recording_files(const MachineSpec& m, const std::filesystem::path& recording);
// Engine::recording_id: the log's size and the CRC-32 of its ends.
std::string recording_id(const std::filesystem::path& recording);

}  // namespace xentt::qemu
