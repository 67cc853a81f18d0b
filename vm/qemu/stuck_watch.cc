#include "vm/qemu/stuck_watch.h"

#include <unistd.h>

#include "xentt/base/process.h"

namespace xentt::qemu {

bool StuckWatch::stuck(uint64_t icount, Clock::time_point now, std::chrono::duration<double> cpu) {
  last_ = now;
  if (icount_ != icount) {
    icount_ = icount;
    since_ = now;
    cpu_since_ = cpu;
    return false;
  }
  auto frozen = now - since_;
  return frozen >= after_ && (cpu - cpu_since_) * 2 >= frozen;
}

std::chrono::duration<double> process_cpu_time(int pid) {
  auto f = process_stat(pid);
  if (f.size() < 15) return {};
  static const double tick = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return std::chrono::duration<double>(static_cast<double>(f[13] + f[14]) * tick);  // fields 14, 15: utime, stime
}

}  // namespace xentt::qemu
