// xentt/interrupt.h: Ctrl-C and kill for foreground tools that own a QEMU.
//
// A tool that runs a replay in the foreground (trace_task, tt_replay
// --verify) must not die on SIGINT/SIGTERM/SIGHUP with QEMU's private
// snapshot copy (10+ MB) left in the state directory. Such a tool calls
// stop_on_signals() once; the handler only records the signal, and the
// library's waits (socket receives, connect retries) notice it within a
// quarter of a second and throw Error(Runtime, "interrupted by SIGTERM"), so
// the stack unwinds through the destructors that quit QEMU and remove the
// replay's runtime directory. The exception is thrown once per signal: the
// cleanup that follows may wait on sockets again.
//
// Tools that do not call stop_on_signals() keep the default actions, so a
// pure file filter such as bts_dump still dies at once on Ctrl-C.
#pragma once

namespace xentt {

// Installs the handlers (without SA_RESTART, so a blocked poll() returns).
void stop_on_signals();

// Throws Error(Runtime) naming the signal if one arrived since the last
// call; otherwise returns. Cost: one atomic exchange.
void throw_if_interrupted();

}  // namespace xentt
