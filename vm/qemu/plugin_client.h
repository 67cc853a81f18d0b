// plugin_client.h (engine qemu, private): the engine's side of the
// branch-trace plugin that runs inside QEMU (plugin/, protocol in
// plugin/protocol.h): reads and sets the vCPU's branch counter and
// instruction count, watches for a branch count, arms and disarms tracing
// into a trace log. Every call requires the replay to be paused (the plugin
// reads its counters while the vCPU thread is stopped). Each call costs one
// round trip on a unix socket.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "xentt/base/unix_socket.h"
#include "xentt/vm/replay_target.h"

namespace xentt::qemu {

class PluginClient {
 public:
  // Connects to the plugin's control socket (QEMU creates it at start).
  explicit PluginClient(const std::filesystem::path& socket);

  // The vCPU is paused at `pc` with stack pointer `rsp` and `stack` (the
  // plugin_protocol::kSettleStackBytes at rsp, nullopt when unreadable).
  void settle(std::uint64_t pc, std::uint64_t rsp, const std::optional<std::string>& stack);
  BranchStatus status();
  void set(std::uint64_t icount, std::uint64_t brctr);
  void watch(std::uint64_t brctr);
  void arm(const std::filesystem::path& path, const std::string& header_json);
  std::uint64_t disarm();
  void close_log();
  void watch_memory(std::span<const MemoryWatch> ranges, WatchMode mode);
  MemoryHits memory_hits();

 private:
  // One request, its reply (a JSON object with "ok": true). Throws Runtime
  // with the plugin's error, or when it does not answer.
  std::string call(const std::string& line);
  UnixSocket sock_;
  std::string pending_;
};

// The plugin's shared object: $XENTT_PLUGIN, else next to this library
// (build tree) or in its lib/xentt/ directory (installed).
std::filesystem::path branch_plugin_path();

}  // namespace xentt::qemu
