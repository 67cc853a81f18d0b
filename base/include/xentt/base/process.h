// xentt/base/process.h: child processes that never outlive their supervisor.
//
// Every QEMU the toolkit starts is a Child: it runs in its own process group
// (so a signal reaches QEMU and anything it forks), gets SIGKILL when the
// thread that spawned it dies (PR_SET_PDEATHSIG, so `kill -9` of a tool
// leaves no orphan), and is killed and reaped when the Child is destroyed.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace xentt {

struct SpawnOptions {
  std::vector<std::string> argv;
  std::optional<std::filesystem::path> stdout_file;  // default: inherit
  int stdout_fd = -1;                                // >= 0: the child's stdout (a pipe's end)
  std::optional<std::filesystem::path> stderr_file;  // default: inherit
  bool stdin_null = true;
  // Sockets and files the child creates get this umask (0077: mode 0600).
  unsigned umask = 077;
};

class Child {
 public:
  // Starts argv[0] (searched in PATH). Throws Runtime naming the program when
  // it cannot be started.
  static Child spawn(const SpawnOptions& opts);

  Child() = default;  // no process
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  ~Child();  // kills the process group and reaps, if still running

  int pid() const { return pid_; }
  bool running();
  // Exit status (128 + signal for a signalled child) once it has ended.
  std::optional<int> try_wait();
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  int wait();
  // Sends `sig` to the whole process group.
  void signal(int sig);
  // SIGKILL to the whole process group, then reaps; returns the status.
  int kill();
  // Polite then firm: SIGTERM, wait up to `grace`, SIGKILL; returns the status.
  int terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  // Forget the child without killing it (it keeps PDEATHSIG).
  void release() { pid_ = -1; }

 private:
  explicit Child(int pid) : pid_(pid) {}
  int pid_ = -1;
  std::optional<int> status_;
};

// True when `pid` names a live process: it exists (signal 0) and is not a
// zombie waiting to be reaped (a zombie answers signal 0, and where init
// does not reap, as in some containers, it never goes away). Cost: a
// system call and a small read of /proc.
bool process_alive(int pid);

// The numeric fields of /proc/PID/stat, indexed as proc(5) numbers them
// from 1 (index 0 is field 1; fields 1-3, pid, comm and state, read 0);
// empty when there is no such process. Cost: one small read.
std::vector<std::uint64_t> process_stat(int pid);

// The start time of process `pid` in clock ticks after boot
// (/proc/PID/stat), nullopt when there is no such process. A pid can be
// reused; the pair (pid, start time) names one process for good, so a pid
// written down earlier is signalled only while it still names that process.
std::optional<std::uint64_t> process_start_time(int pid);

// A process named for good: its pid and its start time.
struct ProcessId {
  int pid = 0;
  std::uint64_t start = 0;
  // Process `pid` as it is now (start 0 when there is none).
  static ProcessId of(int pid) { return {pid, process_start_time(pid).value_or(0)}; }
  // True while `pid` is still the process that started at `start`.
  bool alive() const { return start != 0 && process_start_time(pid) == start && process_alive(pid); }
};

// What a program prints: runs argv (no shell), collects its stdout (at most
// `max_bytes`, the rest is discarded; stderr is discarded) and its exit status. Throws Runtime
// when it cannot be started. Cost: one process.
struct CapturedOutput {
  std::string out;
  int status = 0;
};
CapturedOutput run_and_capture(const std::vector<std::string>& argv, std::size_t max_bytes = 1 << 20);

}  // namespace xentt
