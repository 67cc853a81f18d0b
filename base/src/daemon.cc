#include "xentt/base/daemon.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <exception>

#include "xentt/base/error.h"

namespace xentt {

// Pipe protocol: the supervisor writes 'R' + message when ready, or 'E'
// (runtime) / 'B' (bad input) + message on failure, then closes its end.
static void write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

std::string run_in_background(const std::string& log,
                              const std::function<int(const std::function<void(const std::string&)>&)>& body) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw system_error("pipe", errno);
  pid_t pid = ::fork();
  if (pid < 0) throw system_error("fork", errno);
  if (pid == 0) {
    ::close(p[0]);
    // A grandchild, so the supervisor is never our zombie and belongs to no
    // terminal: closing the terminal or Ctrl-C in it does not touch it.
    ::setsid();
    pid_t gc = ::fork();
    if (gc != 0) ::_exit(gc < 0 ? 1 : 0);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (err >= 0) ::dup2(err, 2);
    int fd = p[1];
    bool told = false;
    auto ready = [&](const std::string& msg) {
      if (told) return;
      write_all(fd, "R" + msg);
      ::close(fd);
      told = true;
    };
    int status = 1;
    try {
      status = body(ready);
      if (!told) write_all(fd, "Esupervisor ended before it was ready");
    } catch (const Error& e) {
      std::string what = e.what();
      ::dprintf(2, "%s\n", what.c_str());
      if (!told) write_all(fd, (e.kind() == ErrorKind::BadInput ? "B" : "E") + what);
    } catch (const std::exception& e) {
      std::string what = e.what();
      ::dprintf(2, "%s\n", what.c_str());
      if (!told) write_all(fd, "E" + what);
    }
    ::_exit(status);
  }
  ::close(p[1]);
  int st;
  ::waitpid(pid, &st, 0);
  std::string msg;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    msg.append(buf, static_cast<size_t>(n));
  }
  ::close(p[0]);
  if (msg.empty()) throw runtime_error("the background supervisor died before it started (see " + log + ")");
  if (msg[0] == 'R') return msg.substr(1);
  if (msg[0] == 'B') throw bad_input(msg.substr(1));
  throw runtime_error(msg.substr(1));
}

}  // namespace xentt
