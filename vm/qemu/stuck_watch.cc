#include "vm/qemu/stuck_watch.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

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
  // /proc/PID/stat: "pid (comm) state ..." with utime and stime the 14th and
  // 15th fields; comm may hold spaces and parentheses, so count from the last ')'.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  auto close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(line.substr(close + 1));
  std::string skip;
  for (int i = 3; i <= 13; i++) fields >> skip;  // state .. cmajflt
  unsigned long long utime = 0, stime = 0;
  if (!(fields >> utime >> stime)) return {};
  static const double tick = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return std::chrono::duration<double>(static_cast<double>(utime + stime) * tick);
}

}  // namespace xentt::qemu
