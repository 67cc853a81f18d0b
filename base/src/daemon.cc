#include "xentt/base/daemon.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>
#include <signal.h>

#include <cerrno>
#include <exception>
#include <thread>

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

namespace {

// While the supervisor is not ready, a thread watches the pipe to the
// program that waits for it. When that program is gone (killed), nobody
// would ever learn where the supervisor's work can be reached (the paused
// replay no one attaches to, the recording no one was told of): the
// supervisor is asked to stop with the SIGTERM its body handles as a stop
// request. Measured: tt_replay --until killed with -9 while its supervisor
// started left a QEMU that tt_replay -K, run at once, could not see.
class OrphanWatch {
 public:
  explicit OrphanWatch(int fd) {
    if (::pipe2(wake_, O_CLOEXEC) != 0) return;
    thread_ = std::thread([fd, wake = wake_[0]] {
      pollfd p[2] = {{fd, 0, 0}, {wake, POLLIN, 0}};  // a pipe's write end reports POLLERR once its reader is gone
      for (;;) {
        if (::poll(p, 2, -1) < 0) {
          if (errno == EINTR) continue;
          return;
        }
        if (p[1].revents) return;
        if (p[0].revents & (POLLERR | POLLHUP)) {
          ::kill(::getpid(), SIGTERM);
          return;
        }
      }
    });
  }
  ~OrphanWatch() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    ssize_t ignored = ::write(wake_[1], "x", 1);
    (void)ignored;
    thread_.join();
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

 private:
  int wake_[2] = {-1, -1};
  std::thread thread_;
};

}  // namespace

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
    OrphanWatch watch(fd);
    auto ready = [&](const std::string& msg) {
      if (told) return;
      watch.stop();
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
