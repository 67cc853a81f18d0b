// GdbServer over real sockets and the fake target: what its users meet
// outside the protocol: a second server for the same socket, a port in
// use, a non-loopback address; two clients at once, one resuming while
// the other's request waits; a 0x03 from the resuming client; a client
// gone in the middle of a run.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch_test_macros.hpp>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "debug_fake_target.h"
#include "unit_util.h"
#include "xentt/debug/gdb_server.h"
#include "xentt/debug/rsp.h"

using namespace xentt;
using namespace xentt::debug;
using namespace std::chrono_literals;

namespace {
int connect_unix(const std::filesystem::path& p) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, p.c_str());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Sends `payload` framed and returns the next packet's payload (acks skipped).
std::string ask(int fd, const std::string& payload) {
  std::string f = rsp_frame(payload);
  REQUIRE(::send(fd, f.data(), f.size(), MSG_NOSIGNAL) == ssize_t(f.size()));
  RspReader r;
  for (;;) {
    while (auto e = r.next())
      if (e->kind == RspEvent::Packet) return e->payload;
    char b[4096];
    ssize_t n = ::recv(fd, b, sizeof b, 0);
    if (n <= 0) return "<closed>";
    r.feed(std::string_view(b, std::size_t(n)));
  }
}

// Reads from `fd` until what came holds `text` (a stop reply).
void read_until(int fd, std::string_view text) {
  std::string got;
  char buf[4096];
  while (got.find(text) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    got.append(buf, std::size_t(n));
  }
}

// A target whose resume runs until told to stop (or interrupted).
struct SlowTarget : debug::test::FakeTarget {
  std::atomic<bool> running{false}, release{false};
  Stop resume(const Triggers&, const std::function<bool()>& interrupted) override {
    running = true;
    while (!release) {
      if (interrupted && interrupted()) {
        running = false;
        return StopKind::Interrupted;
      }
      std::this_thread::sleep_for(5ms);
    }
    running = false;
    now += 7;
    return StopKind::Breakpoint;
  }
};
}  // namespace

TEST_CASE("gdb server: one server per socket; loopback only unless asked; a port in use", "[debug]") {
  xentt::test::TempDir d;
  debug::test::FakeTarget t;
  ListenOptions lo;
  lo.unix_path = d.path / "debug.sock";
  lo.tcp = "127.0.0.1:0";
  GdbServer first(t, lo, [](const std::string&) {});
  struct stat st {};
  REQUIRE(::stat(lo.unix_path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(first.tcp_port());
  ListenOptions again;
  again.unix_path = lo.unix_path;
  auto e = xentt::test::error_of([&] { GdbServer second(t, again, [](const std::string&) {}); });
  REQUIRE(e);
  CHECK(e->kind() == ErrorKind::BadInput);
  CHECK(std::string(e->what()).find("already serves") != std::string::npos);
  ListenOptions port;
  port.unix_path = d.path / "other.sock";
  port.tcp = "127.0.0.1:" + std::to_string(*first.tcp_port());
  e = xentt::test::error_of([&] { GdbServer third(t, port, [](const std::string&) {}); });
  REQUIRE(e);
  CHECK(std::string(e->what()).find("in use") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(port.unix_path));  // nothing left of the refused one
  port.tcp = "10.0.0.1:0";
  e = xentt::test::error_of([&] { GdbServer fourth(t, port, [](const std::string&) {}); });
  REQUIRE(e);
  CHECK(std::string(e->what()).find("not a loopback address") != std::string::npos);
  std::filesystem::path file = d.path / "plain";
  { std::ofstream(file) << "mine"; }
  ListenOptions not_socket;
  not_socket.unix_path = file;
  e = xentt::test::error_of([&] { GdbServer fifth(t, not_socket, [](const std::string&) {}); });
  REQUIRE(e);
  CHECK(std::string(e->what()).find("not a socket") != std::string::npos);
  CHECK(std::filesystem::is_regular_file(file));  // never replaced
}

TEST_CASE("gdb server: two clients; a run holds the other's request; 0x03 and a vanished client stop runs",
          "[debug]") {
  xentt::test::TempDir d;
  SlowTarget t;
  ListenOptions lo;
  lo.unix_path = d.path / "debug.sock";
  std::vector<std::string> log;
  std::mutex log_mutex;
  GdbServer server(t, lo, [&](const std::string& m) {
    std::lock_guard lk(log_mutex);
    log.push_back(m);
  });
  std::atomic<bool> stop{false};
  std::thread serving([&] { server.serve([&] { return !stop.load(); }); });

  int a = connect_unix(lo.unix_path), b = connect_unix(lo.unix_path);
  CHECK(ask(a, "qAttached") == "1");
  CHECK(ask(b, "qAttached") == "1");
  // A resumes; B's request waits until A's run ends, then sees where it ended.
  std::string c = rsp_frame("c");
  ::send(a, c.data(), c.size(), MSG_NOSIGNAL);
  while (!t.running) std::this_thread::sleep_for(1ms);
  std::string b_reply;
  std::thread b_asks([&] { b_reply = ask(b, "p10"); });
  std::this_thread::sleep_for(100ms);
  CHECK(b_reply.empty());  // still waiting
  t.release = true;
  b_asks.join();
  CHECK(b_reply == "0701000000000000");  // rip 0x107: after the run
  t.release = false;
  read_until(a, "T05");  // A's stop reply came to A
  // 0x03 from the resuming client stops its run.
  ::send(a, c.data(), c.size(), MSG_NOSIGNAL);
  while (!t.running) std::this_thread::sleep_for(1ms);
  ::send(a, "\x03", 1, MSG_NOSIGNAL);
  read_until(a, "T02");
  // A client that goes away while its run goes on stops it; B is served on.
  ::send(a, c.data(), c.size(), MSG_NOSIGNAL);
  while (!t.running) std::this_thread::sleep_for(1ms);
  ::close(a);
  while (t.running) std::this_thread::sleep_for(1ms);
  CHECK(ask(b, "qAttached") == "1");
  ::close(b);
  stop = true;
  serving.join();
  std::lock_guard lk(log_mutex);
  CHECK(std::count_if(log.begin(), log.end(), [](const std::string& m) { return m.ends_with("connected (unix)"); }) == 2);
}
