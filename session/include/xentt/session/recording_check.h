// xentt/session/recording_check.h: may this recording be replayed?
#pragma once

#include "xentt/session/state_dir.h"
#include "xentt/vm/engine.h"

namespace xentt {

enum class CheckDepth {
  Replay,  // every file a replay reads; the user's disk base image by its size
  Verify,  // the same, and the disk base image's contents too (tt_replay --verify)
};

// Checks that `dir` holds a finished recording whose files still match the
// checksums taken when they were written: ours (StateDir::check_sums) and
// the engine's (Engine::check_recording). Throws BadInput saying why not
// ("recording terminated abnormally: tt_record -D cleans it", "still
// recording", "DIR/kernel is damaged: ...", "replay.bin is damaged: bytes
// A-B ..."). Cost: one read of each file checked: 0.5 s per GB from the
// page cache (measured on this project's 2-core CI machine); milliseconds
// for the demo guest, about 0.7 s for a Linux boot with six checkpoints of
// 256 MB.
void require_complete_recording(const StateDir& dir, const Engine& engine, CheckDepth depth = CheckDepth::Replay);
// The same with the engine the VM's config names.
void require_complete_recording(const StateDir& dir, CheckDepth depth = CheckDepth::Replay);

}  // namespace xentt
