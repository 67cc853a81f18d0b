// Engine qemu's stuck-replay judge: a replay whose instruction count is
// frozen while QEMU burns a CPU will never move again; one that is frozen
// while QEMU sleeps is an idle guest.
#include <time.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <chrono>

#include "vm/qemu/stuck_watch.h"

using namespace xentt::qemu;

TEST_CASE("stuck watch: a frozen count is stuck only after the limit and with QEMU busy") {
  using namespace std::chrono_literals;
  StuckWatch w(30s);
  auto t0 = StuckWatch::Clock::now();
  CHECK_FALSE(w.stuck(100, t0, 1s));
  CHECK_FALSE(w.stuck(100, t0 + 29s, 29s));  // busy, not yet long enough
  CHECK(w.stuck(100, t0 + 30s, 20s));        // 19 s of 30 on a CPU
  CHECK(w.frozen_for() == 30s);
  CHECK_FALSE(w.stuck(101, t0 + 31s, 21s));  // moved: a new window
  CHECK_FALSE(w.stuck(101, t0 + 62s, 35s));  // 14 s of 31: idle (a --realtime-idle guest's sleep)
  CHECK(w.stuck(101, t0 + 92s, 52s));        // 31 s of 61 on a CPU
}

TEST_CASE("stuck watch: this process's CPU time is read from /proc") {
  // Spins until the kernel's own clock of this process's CPU time has
  // grown by 200 ms (not for 200 ms of wall time: on loaded cores that was
  // 50 ms of CPU), then /proc must show at least half of it.
  auto cpu_now = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  };
  auto before = process_cpu_time(::getpid());
  volatile unsigned long x = 0;
  auto until = cpu_now() + std::chrono::milliseconds(200);
  while (cpu_now() < until) x = x + 1;
  auto after = process_cpu_time(::getpid());
  CHECK(after > before);
  CHECK(after - before >= std::chrono::milliseconds(100));
  CHECK(process_cpu_time(-1) == std::chrono::duration<double>::zero());
}
