#include "xentt/base/interrupt.h"

#include <signal.h>
#include <string.h>

#include <atomic>
#include <string>


namespace xentt {

namespace {
// The pending signal number, or 0. Lock-free, so the handler may write it.
std::atomic<int> g_pending{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void record_signal(int sig) { g_pending.store(sig, std::memory_order_relaxed); }
}  // namespace

void stop_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = record_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked poll() or sleep returns EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

Interrupted::Interrupted(int sig) : sig_(sig) {
  what_ = "interrupted by " + signal_name() + " (the replay is stopped and its temporary files removed)";
}

std::string Interrupted::signal_name() const {
  const char* abbrev = ::sigabbrev_np(sig_);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig_);
}

void throw_if_interrupted() {
  if (int sig = take_interrupt(); sig != 0) throw Interrupted(sig);
}

int take_interrupt() noexcept { return g_pending.exchange(0, std::memory_order_relaxed); }

}  // namespace xentt
