// xentt/branch_counter.h: libxentt's side of the branch-trace plugin that
// runs inside engine qemu (vm/qemu/plugin/): reads and sets the vCPU's branch
// counter and instruction count, watches for a branch count, arms and
// disarms tracing into a trace log. Every call requires the replay to be
// paused (the plugin reads its counters while the vCPU thread is stopped).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace xentt {

struct BranchCounterStatus {
  uint64_t icount = 0;
  uint64_t brctr = 0;
  bool armed = false;
  uint64_t records = 0;  // records handed to the trace log so far
  uint64_t events = 0, faults = 0, unexplained = 0;
  // The first block start with brctr >= the watched count, when seen.
  std::optional<uint64_t> hit_icount, hit_pc, hit_brctr;
};

class BranchCounter {
 public:
  // Connects to the plugin's control socket (QEMU creates it at start).
  explicit BranchCounter(const std::filesystem::path& socket);
  ~BranchCounter();
  BranchCounter(const BranchCounter&) = delete;
  BranchCounter& operator=(const BranchCounter&) = delete;

  // The vCPU is paused at `pc` with stack pointer `rsp` and `stack` (the 48
  // bytes at rsp, nullopt when unreadable): the plugin judges now what
  // landed there (a taken branch, an interrupt or fault already delivered),
  // which it would otherwise do when the next block starts. status(),
  // arm() and disarm() are exact at a pause after this. Cost: one round
  // trip on a unix socket.
  void settle(uint64_t pc, uint64_t rsp, const std::optional<std::string>& stack);
  // Cost: one round trip on a unix socket.
  BranchCounterStatus status();
  // After loading a checkpoint: the counts at that point.
  void set(uint64_t icount, uint64_t brctr);
  // Watch for brctr (0: stop watching). While watching, every block costs a
  // callback (a few times slower than counting alone).
  void watch(uint64_t brctr);
  // Opens the trace log at `path` (first call) and records the branches
  // after this point (settled first: what landed here is not recorded)
  // until disarm().
  void arm(const std::filesystem::path& path, const std::string& header_json);
  // Stops recording (settled first: the branch that landed here is
  // recorded); returns once the records are written, with the total.
  uint64_t disarm();
  // Writes the log's index and trailer and closes it.
  void close_log();

 private:
  std::string call(const std::string& line);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The plugin's shared object: $XENTT_PLUGIN, else next to libxentt
// (build tree) or in its lib/xentt/ directory (installed).
std::filesystem::path branch_plugin_path();

}  // namespace xentt
