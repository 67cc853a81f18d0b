// xentt/session/recording_check.h: may this recording be replayed?
#pragma once

#include "xentt/session/state_dir.h"
#include "xentt/vm/engine.h"

namespace xentt {

// Checks that `dir` holds a finished recording whose engine files still
// match the checksums taken when it was recorded (Engine::check_recording);
// throws BadInput saying why not ("recording terminated abnormally:
// tt_record -D cleans it", "still recording", "replay.bin is damaged: bytes
// A-B ..."). Cost: one read of the engine log: 0.5 s per GB from the page
// cache (engine qemu, measured on this project's 2-core CI machine),
// milliseconds for a Linux boot.
void require_complete_recording(const StateDir& dir, const Engine& engine);
// The same with the engine the VM's config names.
void require_complete_recording(const StateDir& dir);

}  // namespace xentt
