// xentt/base/interrupt.h: Ctrl-C and kill for foreground tools that own a QEMU.
//
// A tool that runs a replay in the foreground (trace_task, tt_replay
// --verify) must not die on SIGINT/SIGTERM/SIGHUP with QEMU's private
// snapshot copy (10+ MB) left in the state directory. Such a tool calls
// stop_on_signals() once; the handler only records the signal, and the
// library's waits (socket receives, connect retries) notice it within a
// quarter of a second and throw Interrupted, so the stack unwinds through
// the destructors that quit QEMU and remove the replay's runtime directory.
// Interrupted is not an xentt::Error on purpose: the library retries or
// reinterprets Errors in places (a wait that times out asks QEMU where it
// is), and an interruption must pass through all of them. It is thrown once
// per signal: the cleanup that follows may wait on sockets again.
//
// Tools that do not call stop_on_signals() keep the default actions, so a
// pure file filter such as bts_dump still dies at once on Ctrl-C.
#pragma once

#include <exception>
#include <string>

namespace xentt {

class Interrupted : public std::exception {
 public:
  explicit Interrupted(int sig);
  const char* what() const noexcept override { return what_.c_str(); }
  int signal() const noexcept { return sig_; }
  // "SIGINT", "SIGTERM", ...
  std::string signal_name() const;

 private:
  int sig_;
  std::string what_;
};

// Installs the handlers (without SA_RESTART, so a blocked poll() returns).
void stop_on_signals();

// Throws Interrupted if a signal arrived since the last call; otherwise
// returns. Cost: one atomic exchange.
void throw_if_interrupted();

// The signal that arrived since the last call (and forgets it), or 0: for
// loops that stop cleanly instead of unwinding. Cost: one atomic exchange.
int take_interrupt() noexcept;

}  // namespace xentt
