#include "xentt/base/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "xentt/base/error.h"

namespace xentt {

static int decode_status(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

static void redirect(const std::filesystem::path& p, int target) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd >= 0) {
    ::dup2(fd, target);
    ::close(fd);
  }
}

Child Child::spawn(const SpawnOptions& opts) {
  if (opts.argv.empty()) throw runtime_error("spawn: empty command");
  std::vector<char*> argv;
  for (const auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // The child reports an exec failure's errno through this pipe; a
  // successful exec closes it (O_CLOEXEC) and the read sees EOF.
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) throw system_error("pipe", errno);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(errpipe[0]);
    ::close(errpipe[1]);
    throw system_error("cannot start " + opts.argv[0], err);
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::umask(static_cast<mode_t>(opts.umask));
    if (opts.stdin_null) {
      int fd = ::open("/dev/null", O_RDONLY);
      if (fd >= 0) {
        ::dup2(fd, 0);
        ::close(fd);
      }
    }
    if (opts.stdout_file) redirect(*opts.stdout_file, 1);
    if (opts.stdout_fd >= 0) ::dup2(opts.stdout_fd, 1);
    if (opts.stderr_file) redirect(*opts.stderr_file, 2);
    ::execvp(argv[0], argv.data());
    int err = errno;
    ssize_t ignored = ::write(errpipe[1], &err, sizeof err);
    (void)ignored;
    ::_exit(127);
  }
  ::close(errpipe[1]);
  int child_err = 0;
  ssize_t n;
  do n = ::read(errpipe[0], &child_err, sizeof child_err);
  while (n < 0 && errno == EINTR);
  ::close(errpipe[0]);
  if (n == sizeof child_err) {
    int st;
    ::waitpid(pid, &st, 0);
    throw system_error("cannot run " + opts.argv[0] + " (is it installed? run scripts/install-deps)", child_err);
  }
  return Child(pid);
}

Child::Child(Child&& o) noexcept : pid_(o.pid_), status_(o.status_) { o.pid_ = -1; }

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && !status_) terminate(std::chrono::milliseconds(500));
    pid_ = o.pid_;
    status_ = o.status_;
    o.pid_ = -1;
  }
  return *this;
}

Child::~Child() {
  if (pid_ > 0 && !status_) terminate(std::chrono::milliseconds(500));
}

std::optional<int> Child::try_wait() {
  if (status_ || pid_ <= 0) return status_;
  int st;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) status_ = decode_status(st);
  return status_;
}

bool Child::running() { return pid_ > 0 && !try_wait(); }

std::optional<int> Child::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (!try_wait()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return status_;
}

int Child::wait() {
  if (status_ || pid_ <= 0) return status_.value_or(0);
  int st;
  pid_t r;
  do r = ::waitpid(pid_, &st, 0);
  while (r < 0 && errno == EINTR);
  status_ = r == pid_ ? decode_status(st) : 255;
  return *status_;
}

void Child::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(-pid_, sig);
}

int Child::kill() {
  if (pid_ <= 0) return 0;
  if (!try_wait()) {
    signal(SIGKILL);
    wait();
  }
  return *status_;
}

int Child::terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return 0;
  if (!try_wait()) {
    signal(SIGTERM);
    if (!wait_for(grace)) {
      signal(SIGKILL);
      wait();
    }
  }
  return *status_;
}

namespace {
// /proc/PID/stat after "pid (comm) ": comm may hold spaces and parentheses,
// so it starts after the last ')'. Empty when there is no such process.
std::string stat_after_comm(int pid) {
  if (pid <= 0) return "";
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return "";
  auto close = line.rfind(')');
  return close == std::string::npos ? "" : line.substr(close + 1);
}
}  // namespace

std::vector<std::uint64_t> process_stat(int pid) {
  std::vector<std::uint64_t> out;
  std::istringstream fields(stat_after_comm(pid));
  std::string state;
  if (!(fields >> state)) return out;
  out = {0, 0, 0};  // pid, comm, state: not numbers
  for (std::uint64_t v; fields >> v;) out.push_back(v);
  return out;
}

bool process_alive(int pid) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return false;
  std::istringstream fields(stat_after_comm(pid));
  std::string state;
  return !(fields >> state) || (state != "Z" && state != "X");  // unreadable /proc: trust the signal
}

std::optional<std::uint64_t> process_start_time(int pid) {
  auto f = process_stat(pid);
  if (f.size() < 22) return std::nullopt;
  return f[21];  // field 22: starttime
}

CapturedOutput run_and_capture(const std::vector<std::string>& argv, std::size_t max_bytes) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw system_error("pipe", errno);
  SpawnOptions o;
  o.argv = argv;
  o.stdout_fd = p[1];
  o.stderr_file = "/dev/null";
  Child child;
  try {
    child = Child::spawn(o);
  } catch (...) {
    ::close(p[0]);
    ::close(p[1]);
    throw;
  }
  ::close(p[1]);
  CapturedOutput r;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r.out.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), max_bytes - std::min(max_bytes, r.out.size())));
  }
  ::close(p[0]);
  r.status = child.wait();
  return r;
}

}  // namespace xentt
