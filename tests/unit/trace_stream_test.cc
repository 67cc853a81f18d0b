// The trace stream (docs/trace-stream.md): its control messages round
// trip and refuse another version or garbage with the reason; the frame
// scanner accepts exactly a log's bytes however they arrive, stops short
// of a cut frame and names damage by offset; the sender, following a log
// that a writer appends to in pieces, delivers the file byte for byte
// over a real socket, and a consumer that goes away stops only the
// sending; listen_unix never replaces what is not a dead socket.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <fstream>
#include <random>
#include <thread>

#include "unit_util.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/unix_socket.h"
#include "xentt/tracefmt/trace_log.h"
#include "xentt/tracefmt/trace_stream.h"

using namespace xentt;
using namespace xentt::xtl;
using xentt::test::message_of;
using xentt::test::TempDir;

namespace {

std::vector<Branch> some_branches(std::uint64_t first, std::size_t n) {
  std::vector<Branch> b;
  for (std::size_t i = 0; i < n; ++i)
    b.push_back({0x1000 + i * 16 % 4096, 0x2000 + i % 7 * 8, first + i, (first + i) * 5, BranchKind::CondJump});
  return b;
}

// A small log of a few frames, written whole.
std::string small_log(const std::filesystem::path& p) {
  {
    LogWriter::Options o;
    o.max_batch = 100;
    LogWriter w(p.string(), R"({"engine":"test"})", o);
    w.add_marker(0, R"({"what":"arm"})");
    w.add_branches(0, some_branches(1, 450));
    w.add_marker(0, R"({"what":"disarm"})");
    w.close();
  }
  return read_file(p);
}

// Feeds `bytes` to a MessageReader one byte at a time.
MessageReader read_all(const std::string& bytes) {
  MessageReader r("peer");
  for (char c : bytes) REQUIRE(r.feed(&c, 1) == (r.done() ? 0u : 1u));
  return r;
}

}  // namespace

TEST_CASE("stream messages round trip, byte by byte", "[stream]") {
  MessageReader h = read_all(encode_hello({"trace_task", "t.xtl", 42, kFormatVersion}));
  REQUIRE(h.done());
  CHECK(h.version() == kStreamVersion);
  Hello hello = h.hello();
  CHECK(hello.producer == "trace_task");
  CHECK(hello.name == "t.xtl");
  CHECK(hello.pid == 42);
  CHECK(hello.log_format_version == kFormatVersion);

  CHECK(read_all(encode_answer({true, ""})).answer().accept);
  Answer no = read_all(encode_answer({false, "disk full"})).answer();
  CHECK(!no.accept);
  CHECK(no.reason == "disk full");

  Receipt r = read_all(encode_receipt({true, true, 1234, "/d/t.xtl", ""})).receipt();
  CHECK(r.saved);
  CHECK(r.complete);
  CHECK(r.bytes == 1234);
  CHECK(r.file == "/d/t.xtl");

  // A message says what it is: a receipt is not a hello.
  CHECK(message_of([] { read_all(encode_receipt({})).hello(); }).find("expected a 'hello' message") !=
        std::string::npos);
  // Bytes after a message are left for what follows.
  std::string two = encode_answer({true, ""}) + "XYZ";
  MessageReader m("peer");
  CHECK(m.feed(two.data(), two.size()) == two.size() - 3);
}

TEST_CASE("stream messages: another version and garbage are refused with the reason", "[stream]") {
  std::string v2 = encode_answer({false, "I only speak version 2"});
  v2[8] = 2;
  MessageReader r = read_all(v2);
  CHECK(r.version() == 2);
  std::string why = message_of([&] { r.answer(); });
  CHECK(why.find("protocol version 2, this one 1") != std::string::npos);
  CHECK(why.find("I only speak version 2") != std::string::npos);  // its reason is quoted

  MessageReader g("client 7");
  std::string http = "GET / HTTP/1.1\r\n\r\n";
  std::string e = message_of([&] { g.feed(http.data(), http.size()); });
  CHECK(e.find("client 7: not an xtl stream") != std::string::npos);
  CHECK(test::status_of([&] { MessageReader x("p"); x.feed(http.data(), 1); }) == 2);  // at the first byte

  std::string huge = encode_hello({});
  huge[14] = 0x10;  // length 1 MiB and more
  MessageReader big("p");
  CHECK(message_of([&] { big.feed(huge.data(), huge.size()); }).find("at most 65536") != std::string::npos);

  std::string notjson = encode_hello({});
  notjson[kMessageEnvelope] = '[';
  CHECK(message_of([&] { read_all(notjson).hello(); }).find("not a JSON object") != std::string::npos);
}

TEST_CASE("frame scanner: a log's bytes in any pieces are accepted exactly", "[stream]") {
  TempDir d;
  std::string log = small_log(d.path / "t.xtl");
  std::mt19937 rng(5);
  for (int round = 0; round < 20; ++round) {
    FrameScanner s("t");
    std::string pending, accepted;
    for (std::size_t at = 0; at < log.size();) {
      std::size_t n = std::min<std::size_t>(log.size() - at, rng() % 300 + 1);
      pending.append(log, at, n);
      at += n;
      std::size_t whole = s.scan(pending.data(), pending.size());
      accepted += pending.substr(0, whole);
      pending.erase(0, whole);
    }
    REQUIRE(accepted == log);
    CHECK(pending.empty());
    CHECK(s.ended());
    CHECK(s.offset() == log.size());
  }

  // Cut in the End frame: everything before it, not ended.
  FrameScanner cut("t");
  CHECK(cut.scan(log.data(), log.size() - 5) == log.size() - 32);
  CHECK(!cut.ended());

  // Anything after the End frame is damage.
  std::string more = log + "x";
  FrameScanner after("t");
  CHECK(message_of([&] { after.scan(more.data(), more.size()); }).find("bytes after the End frame") !=
        std::string::npos);

  // A flipped payload byte is named by its frame's offset.
  std::string bad = log;
  bad[16 + 16 + 3] ^= 1;  // in the Header frame's JSON
  FrameScanner damaged("t");
  CHECK(message_of([&] { damaged.scan(bad.data(), bad.size()); }) == "t: offset 16: damaged frame (CRC mismatch)");
  // Not a log at all: at its first byte.
  FrameScanner garbage("g");
  CHECK(message_of([&] { garbage.scan("GET", 3); }) == "g: offset 0: not a trace log (bad signature)");
}

namespace {
// A consumer on a real socket: answers the hello, reads the log until the
// producer shuts down (or `close_after` bytes), then sends a receipt.
struct TestConsumer {
  std::filesystem::path path;
  int listen_fd;
  std::string received;
  std::thread thread;
  TestConsumer(const std::filesystem::path& p, long close_after = -1) : path(p), listen_fd(listen_unix(p, "busy")) {
    thread = std::thread([this, close_after] {
      int fd = ::accept(listen_fd, nullptr, nullptr);
      MessageReader hello("producer");
      char buf[4096];
      std::size_t used = 0;
      ssize_t n = 0;
      while (!hello.done() && (n = ::recv(fd, buf, sizeof buf, 0)) > 0) used = hello.feed(buf, std::size_t(n));
      std::string a = encode_answer({true, ""});
      ::send(fd, a.data(), a.size(), MSG_NOSIGNAL);
      received.append(buf + used, std::size_t(n) - used);
      while (close_after < 0 || long(received.size()) < close_after) {
        n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        received.append(buf, std::size_t(n));
      }
      if (close_after < 0) {
        std::string r = encode_receipt({true, true, received.size(), "saved.xtl", ""});
        ::send(fd, r.data(), r.size(), MSG_NOSIGNAL);
      }
      ::close(fd);
    });
  }
  ~TestConsumer() {
    if (thread.joinable()) thread.join();
    ::close(listen_fd);
  }
};
}  // namespace

TEST_CASE("sender: a log written in pieces arrives byte for byte", "[stream]") {
  TempDir d;
  auto log = d.path / "t.xtl";
  TestConsumer consumer(d.path / "c.sock");
  StreamSender s(consumer.path, {"test", "t.xtl", 1, kFormatVersion});
  s.follow(log);  // before the file exists, as trace_task does
  {
    LogWriter::Options o;
    o.max_batch = 1000;
    LogWriter w(log.string(), R"({"engine":"test"})", o);
    for (int i = 0; i < 8; ++i) {
      w.add_branches(0, some_branches(1 + i * 3000, 3000));  // three frames a piece
      w.add_marker(0, R"({"what":"tick"})");
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
    }
    w.close();
  }
  auto r = s.finish();
  consumer.thread.join();
  CHECK(r.error == "");
  CHECK(r.ended);
  CHECK(r.receipt.file == "saved.xtl");
  CHECK_NOTHROW(r.throw_if_failed(""));
  std::string file = read_file(log);
  CHECK(r.sent == file.size());
  CHECK(consumer.received == file);
}

TEST_CASE("sender: a consumer that goes away stops the sending only", "[stream]") {
  TempDir d;
  auto log = d.path / "t.xtl";
  std::string file = small_log(log);
  TestConsumer consumer(d.path / "c.sock", 0);  // closes right after accepting
  StreamSender s(consumer.path, {"test", "t.xtl", 1, kFormatVersion});
  consumer.thread.join();
  s.follow(log);
  auto r = s.finish();
  CHECK(r.error.find("the consumer went away after 0 bytes") != std::string::npos);
  CHECK(message_of([&] { r.throw_if_failed("local log kept"); }).ends_with("; local log kept"));
  CHECK(read_file(log) == file);  // the local log is the sender's input only

  // Nobody listening: an error at once, with what to do.
  std::string e = message_of([&] { StreamSender(d.path / "none.sock", Hello{}); });
  CHECK(e.find("no consumer listens there") != std::string::npos);
  CHECK(e.find("xentt_savelog unix:") != std::string::npos);
}

TEST_CASE("sender: a refusal is an error quoting the reason", "[stream]") {
  TempDir d;
  auto sock = d.path / "c.sock";
  int lfd = listen_unix(sock, "busy");
  std::thread refuser([&] {
    int fd = ::accept(lfd, nullptr, nullptr);
    char buf[4096];
    ::recv(fd, buf, sizeof buf, 0);
    std::string a = encode_answer({false, "no room"});
    ::send(fd, a.data(), a.size(), MSG_NOSIGNAL);
    ::close(fd);
  });
  std::string e = message_of([&] { StreamSender(sock, Hello{}); });
  refuser.join();
  ::close(lfd);
  CHECK(e == "unix:" + sock.string() + ": the consumer refused the stream: no room");
  CHECK(test::status_of([&] { parse_stream_address("--stream", "tcp:1"); }) == 2);
}

TEST_CASE("listen_unix: a live socket is busy, a dead one replaced, a file never touched", "[stream]") {
  TempDir d;
  auto p = d.path / "s";
  {
    std::ofstream(p) << "precious";
    CHECK(message_of([&] { listen_unix(p, "busy"); }).find("exists and is not a socket") != std::string::npos);
    CHECK(read_file(p) == "precious");
    std::filesystem::remove(p);
  }
  int fd = listen_unix(p, "a save server already listens");
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(message_of([&] { listen_unix(p, "a save server already listens"); }) ==
        "a save server already listens at " + p.string());
  ::close(fd);  // the server died, its socket file stays
  int again = listen_unix(p, "busy");
  CHECK(again >= 0);
  ::close(again);
}
