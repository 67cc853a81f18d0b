// xentt/base/daemon.h: running a supervisor in the background. tt_record and
// tt_replay -p leave a process behind that owns QEMU (and so keeps it alive,
// since QEMU dies with its supervisor); the foreground tool waits until the
// supervisor reports that it is ready, or why it failed, then returns.
#pragma once

#include <functional>
#include <string>

namespace xentt {

// Forks a session leader that runs `body(ready)` with stdin/stdout on
// /dev/null and stderr appended to `log`. `body` calls ready(message) once
// it is up; the message (e.g. attach information) is returned to the
// caller. If the supervisor ends or fails before calling ready(), this
// throws Runtime with its error (the exception text it threw). The body's
// exit status is the supervisor's. When the caller dies before the
// supervisor is ready, the supervisor gets SIGTERM (its body treats it as a
// request to stop): nobody would learn where to reach it.
std::string run_in_background(const std::string& log,
                              const std::function<int(const std::function<void(const std::string&)>& ready)>& body);

}  // namespace xentt
