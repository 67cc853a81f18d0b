// Processes named for good: a zombie is not alive (it answers signal 0, and
// a supervisor polling that way never saw its QEMU die), a pid is believed
// only with its start time.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <thread>

#include "xentt/base/process.h"

using namespace xentt;

TEST_CASE("a process that ended but was not reaped is not alive") {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ProcessId id = ProcessId::of(child);
  CHECK(id.start != 0);
  // Until it is reaped the child is a zombie: kill(pid, 0) still succeeds.
  for (int i = 0; i < 200 && process_alive(child); i++) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(::kill(child, 0) == 0);
  CHECK_FALSE(process_alive(child));
  CHECK_FALSE(id.alive());
  int st;
  ::waitpid(child, &st, 0);
  CHECK_FALSE(process_alive(child));
  CHECK(process_alive(::getpid()));
  CHECK(ProcessId::of(::getpid()).alive());
  CHECK_FALSE(ProcessId{::getpid(), 1}.alive());  // this pid, another start: another process
  CHECK_FALSE(process_alive(0));
  CHECK_FALSE(process_alive(-1));
}

TEST_CASE("/proc/PID/stat fields are numbered as proc(5) numbers them") {
  auto f = process_stat(::getpid());
  REQUIRE(f.size() > 22);
  CHECK(f[3] == static_cast<std::uint64_t>(::getppid()));  // field 4: ppid
  CHECK(process_start_time(::getpid()) == f[21]);          // field 22: starttime
  CHECK(process_stat(-1).empty());
}
