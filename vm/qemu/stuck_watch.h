// stuck_watch.h (engine qemu, private): tells a replay that will never move again from one
// that is only slow or idle.
//
// Measured, QEMU 10.0.2, the demo guest's log with 16 bytes flipped at 41
// places: 3 replays froze the instruction count below the recorded end with
// the vCPU thread at 100% CPU, forever. The log's checksums
// (log_sums.h) catch damage done after recording; this catches the
// rest (recordings older than the checksums, a log QEMU wrote wrong, a
// different QEMU build) instead of hanging.
//
// The judge: the count has not moved for `after` while QEMU spent at least
// half of that time on a CPU. A guest idling in a --realtime-idle recording
// also freezes the count, for as long as it idled, but QEMU sleeps meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace xentt::qemu {

class StuckWatch {
 public:
  using Clock = std::chrono::steady_clock;
  explicit StuckWatch(std::chrono::seconds after = std::chrono::seconds(30)) : after_(after) {}

  // One sample: the replay's instruction count, when it was read, and the
  // CPU time QEMU has used so far. True when the replay is stuck.
  bool stuck(uint64_t icount, Clock::time_point now, std::chrono::duration<double> cpu);

  // How long the count has been frozen, as of the last sample.
  std::chrono::duration<double> frozen_for() const { return last_ - since_; }

 private:
  std::chrono::seconds after_;
  std::optional<uint64_t> icount_;
  Clock::time_point since_{}, last_{};  // when the count last moved; the last sample
  std::chrono::duration<double> cpu_since_{};
};

// CPU time (user + system) process `pid` has used, from /proc/PID/stat; zero
// when it cannot be read (the process is gone: its exit is reported elsewhere).
std::chrono::duration<double> process_cpu_time(int pid);

}  // namespace xentt::qemu
