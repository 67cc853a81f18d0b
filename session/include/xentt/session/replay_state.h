// xentt/session/replay_state.h: what a paused background replay tells the
// world (replays/ID/replay.json): where it is, where to attach, and whose
// processes to end. Written by its supervisor when the replay is ready,
// read by `tt_replay -K` (end_background_replays) and printed by tt_replay
// --json. Reader and writer live here.
//
// Format 1: {"format": 1, "vm", "engine", "icount", "rip" ("0x.." hex),
//   "kernel", "endpoints": [{"name", "protocol", "path"[, "bytes"]}],
//   "engine_pid", "supervisor_pid", "engine_start", "supervisor_start"} plus, for each endpoint, its path under
//   "<name>_socket" (sockets) or "<name>_file" (files, with "<name>_bytes"):
//   gdb_socket, qmp_socket, memory_file, memory_bytes, console_file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "xentt/vm/target.h"

namespace xentt {

struct ReplayState {
  static constexpr int kFormat = 1;
  std::string vm;
  std::string engine;
  std::uint64_t icount = 0;
  std::uint64_t rip = 0;
  std::filesystem::path kernel;  // the VM's kernel, for a debugger's symbols
  std::vector<Endpoint> endpoints;
  int engine_pid = 0;      // the engine's process (its process group is the replay's)
  int supervisor_pid = 0;  // the background process that owns it
  // Their start times (process_start_time): a pid is signalled only while
  // it still names the process written down here, never a reused one.
  std::uint64_t engine_start = 0, supervisor_start = 0;

  nlohmann::json to_json() const;
  // Throws BadInput naming `origin` for a malformed state.
  static ReplayState from_json(const nlohmann::json& j, const std::string& origin);
  // The endpoint named `name`, if any.
  const Endpoint* endpoint(const std::string& name) const;

  // Written atomically, mode 0600.
  void write(const std::filesystem::path& file) const;
  // nullopt when the file does not exist or is not a replay state (a
  // supervisor killed while writing it).
  static std::optional<ReplayState> read(const std::filesystem::path& file);
};

}  // namespace xentt
