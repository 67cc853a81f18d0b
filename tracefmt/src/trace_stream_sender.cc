// The producer's side of a trace stream (docs/trace-stream.md): the
// handshake, a thread that tails the log file and sends each whole frame
// once it has landed, the receipt.
//
// Why tail the file rather than hook the writer: the writer runs inside
// QEMU (the branch-trace plugin), appends whole frames with one write(2)
// each and never rewrites a byte, so the file is the log as produced; a
// follower that forwards whole, checked frames sends exactly the file's
// bytes, and the local log stays what it always was whatever the consumer
// does.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "xentt/base/error.h"
#include "xentt/base/unix_socket.h"
#include "xentt/tracefmt/trace_stream.h"

namespace xentt::xtl {

namespace fs = std::filesystem;

struct StreamSender::Impl {
  std::string name;  // "unix:PATH", as errors quote it
  std::optional<UnixSocket> sock;
  std::string leftover;  // bytes after the answer (the start of the receipt)
  fs::path log;
  std::thread thread;
  std::mutex mu;
  std::condition_variable wake;
  bool writer_done = false, stop = false;  // under mu
  // Written by the thread, read after join().
  FrameScanner scanner{""};
  std::string error;
  bool log_damaged = false;  // error: the log's own frames failed their checks (the user's input)

  // The thread: reads what the writer appended, sends the whole frames.
  void follow() {
    constexpr std::size_t kChunk = 4 << 20;
    int fd = -1;
    std::string pending;  // bytes read from the file and not sent yet (an unfinished frame)
    std::uint64_t pos = 0;
    std::string buf(kChunk, '\0');
    for (;;) {
      bool last;
      {
        std::lock_guard<std::mutex> l(mu);
        if (stop) break;
        last = writer_done;  // read before the file: a pass begun after the writer ended sees all it wrote
      }
      if (fd < 0) {
        fd = ::open(log.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT) {
          error = system_error(log.string() + ": cannot read the trace log to stream it", errno).what();
          break;
        }
      }
      ssize_t got = 0;
      if (fd >= 0) {
        do got = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(pos));
        while (got < 0 && errno == EINTR);
        if (got < 0) {
          error = system_error(log.string() + ": reading the trace log to stream it", errno).what();
          break;
        }
        pos += static_cast<std::uint64_t>(got);
        pending.append(buf.data(), static_cast<std::size_t>(got));
      }
      std::size_t whole;
      try {
        whole = scanner.scan(pending.data(), pending.size());
      } catch (const Error& e) {
        error = std::string(e.what()) + " (the stream stops there)";
        log_damaged = e.kind() == ErrorKind::BadInput;
        break;
      }
      if (whole) {
        try {
          sock->send_all(pending.substr(0, whole));
        } catch (const Error& e) {
          error = name + ": the consumer went away after " + std::to_string(scanner.offset() - whole) +
                  " bytes of the log (" + e.what() + ")";
          break;
        }
        pending.erase(0, whole);
      }
      if (scanner.ended()) break;
      if (got > 0) continue;  // more may be there already
      if (last) break;
      std::unique_lock<std::mutex> l(mu);
      wake.wait_for(l, std::chrono::milliseconds(20), [&] { return stop || writer_done; });
    }
    if (fd >= 0) ::close(fd);
  }

  void stop_thread(bool writer_finished) {
    {
      std::lock_guard<std::mutex> l(mu);
      (writer_finished ? writer_done : stop) = true;
    }
    wake.notify_all();
    if (thread.joinable()) thread.join();
  }
};

StreamSender::StreamSender(const fs::path& socket, const Hello& hello, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.name = "unix:" + socket.string();
  try {
    m.sock.emplace(UnixSocket::connect(socket, std::chrono::milliseconds(0)));
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::BadInput) throw;
    throw runtime_error(m.name + ": no consumer listens there (" + e.what() +
                        "); start one first, e.g. xentt_savelog " + m.name + " -o DIR");
  }
  // A consumer that stops reading must not hang the producer for ever.
  m.sock->set_send_timeout(std::chrono::seconds(60));
  MessageReader answer("consumer at " + m.name);
  Answer a;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  try {
    m.sock->send_all(encode_hello(hello));
    while (!answer.done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      std::string got = left.count() > 0 ? m.sock->receive(left) : "";
      if (got.empty())
        throw runtime_error(m.name + ": the consumer did not answer the hello within " +
                            std::to_string(timeout.count() / 1000) + " s");
      std::size_t took = answer.feed(got.data(), got.size());
      m.leftover = got.substr(took);
    }
    a = answer.answer();
  } catch (const Error& e) {
    // Whatever the consumer did wrong, it is not this program's input: exit 1.
    std::string w = e.what();
    throw runtime_error(w.starts_with(m.name) || w.starts_with("consumer at") ? w : m.name + ": " + w);
  }
  if (!a.accept) throw runtime_error(m.name + ": the consumer refused the stream: " + a.reason);
}

StreamSender::~StreamSender() {
  if (!impl_) return;
  if (impl_->sock) impl_->sock->shutdown(SHUT_RDWR);  // wakes a blocked send
  impl_->stop_thread(false);
}

void StreamSender::follow(const fs::path& log) {
  Impl& m = *impl_;
  m.log = log;
  m.scanner = FrameScanner(log.string());
  m.thread = std::thread([&m] { m.follow(); });
}

StreamSender::Result StreamSender::finish(std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  m.stop_thread(true);
  Result r;
  r.address = m.name;
  r.sent = m.scanner.offset();
  r.ended = m.scanner.ended();
  r.error = m.error;
  r.log_damaged = m.log_damaged;
  m.sock->shutdown(SHUT_WR);  // the end of the log: the consumer reads EOF
  if (!r.error.empty()) return r;
  MessageReader receipt("consumer at " + m.name);
  try {
    receipt.feed(m.leftover.data(), m.leftover.size());
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!receipt.done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      std::string got = left.count() > 0 ? m.sock->receive(left) : "";
      if (got.empty()) {
        r.error = m.name + ": no receipt from the consumer within " + std::to_string(timeout.count() / 1000) + " s";
        return r;
      }
      receipt.feed(got.data(), got.size());
    }
    r.receipt = receipt.receipt();
  } catch (const Error& e) {
    r.error = m.name + ": the consumer sent no receipt (" + e.what() + ")";
  }
  return r;
}

void StreamSender::Result::throw_if_failed(const std::string& local_note) const {
  if (!error.empty()) throw Error(log_damaged ? ErrorKind::BadInput : ErrorKind::Runtime, error + "; " + local_note);
  if (!receipt.saved || (ended && !receipt.complete) || receipt.bytes != sent)
    throw runtime_error(address + ": the consumer did not keep the log (it says: " +
                        (receipt.reason.empty() ? "nothing" : receipt.reason) + "); " + local_note);
}

std::string StreamSender::Result::summary() const {
  return "sent " + std::to_string(sent) + " bytes to " + address + "; the consumer saved them as " +
         (receipt.file.empty() ? "?" : receipt.file) + (receipt.complete ? "" : " (a cut log: " + receipt.reason + ")");
}

}  // namespace xentt::xtl
