// xentt/session/replay_index.h: what the first full replay of a recording learns
// and later replays rely on (index.json): where the recording
// ends, and at which instruction counts checkpoints were saved into the
// recording's snapshot image. Reader and writer live here; building it
// (which needs a replay) is build_replay_index() in index_builder.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xentt/session/state_dir.h"

namespace xentt {

struct ReplayIndex {
  // Format 2 added checkpoint_brctr, format 3 the recording it was built
  // from and a CRC-32 of itself; an index of an older format is rebuilt.
  static constexpr int kFormat = 3;
  // The revision of the plugin's counting rules the checkpoint brctrs come
  // from; an index from other rules is stale and rebuilt. Bump it with any
  // plugin change that moves a count. 2: aliased blocks checked against the
  // real pc before the interrupt frame (2026-11-22; rules 1 counted stack
  // contents after a call as interrupts in a Linux boot).
  static constexpr int kBrctrRules = 2;
  static constexpr uint64_t kUnknown = ~0ull;
  // A bound on how far a replay runs on past the end of its log before it
  // parks (measured, QEMU 10.0.2, the demo guest: 1 to 11 instructions,
  // differing from run to run), with a wide margin: no checkpoint is kept
  // this close to where a replay ran out, and a replay that runs this far
  // past final_icount says the index is wrong.
  static constexpr uint64_t kEndMargin = 1ull << 20;
  std::string recording;                // Engine::recording_id of the recording it was built from
  uint64_t final_icount = 0;             // the last count a replay can stop at inside the recording
  uint64_t interval = 0;                // instructions between checkpoints
  std::vector<uint64_t> checkpoints;    // icounts, ascending (0 is the recording's "init")
  std::vector<uint64_t> checkpoint_brctr;  // the branch counter at each checkpoint, or kUnknown
  uint64_t console_bytes = 0;           // the replay's console length, equal to the recording's
  double build_seconds = 0;

  // With "crc32", the CRC-32 of the rest. from_json throws BadInput naming
  // `origin` when the text is damaged (its CRC does not match), malformed,
  // or of another format.
  std::string to_json() const;
  static ReplayIndex from_json(const std::string& text, const std::string& origin);
};

// The checkpoint's snapshot tag.
std::string checkpoint_tag(uint64_t icount);

// The index of the recording whose Engine::recording_id is `recording`;
// nullopt when it must be built: never built, of an older format, damaged,
// or built for another recording. The index is derived from the engine log
// and never believed over it: a damaged one is rebuilt, not trusted.
// `why_not` gets the reason ("" when there is none yet).
std::optional<ReplayIndex> load_replay_index(const StateDir& dir, const std::string& recording,
                                             std::string* why_not = nullptr);
void save_replay_index(const StateDir& dir, const ReplayIndex& index);

}  // namespace xentt
