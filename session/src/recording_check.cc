#include "xentt/session/recording_check.h"

#include "xentt/base/error.h"

namespace xentt {

void require_complete_recording(const StateDir& dir, const Engine& engine, CheckDepth depth) {
  switch (dir.recording_state()) {
    case RecordingState::Complete: break;
    case RecordingState::Recording:
      throw bad_input("VM '" + dir.name() + "' is still recording (stop it with tt_record -S " + dir.name() + ")");
    case RecordingState::Incomplete:
      throw bad_input("the recording of '" + dir.name() + "' at " + dir.path().string() +
                      " terminated abnormally and cannot be replayed (tt_record -D " + dir.name() + " cleans it)");
  }
  dir.check_sums(depth == CheckDepth::Verify);
  engine.check_recording(dir.machine(dir.config()), dir.file(StateDir::kRecordingDir));
}

void require_complete_recording(const StateDir& dir, CheckDepth depth) {
  require_complete_recording(dir, *make_engine(dir.config().engine), depth);
}

}  // namespace xentt
