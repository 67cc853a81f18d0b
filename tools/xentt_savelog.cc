// xentt_savelog: the save server of trace streams (docs/trace-stream.md).
// Listens at unix:PATH; every producer that connects (trace_task --stream,
// bts_extract --send) has its trace log written into DIR, under a
// temporary name until the stream ends, then as NAME.xtl when it is a
// complete log (End trailer, read back whole with the log reader) or as
// NAME.xtl.partial when it was cut. Several producers are served at once
// (one poll loop); a client that sends garbage or speaks another version
// is refused with the reason and the others go on. Ctrl-C or SIGTERM ends
// it: streams under way are kept as .partial, its socket removed.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <list>
#include <nlohmann/json.hpp>
#include <optional>

#include "tool_main.h"
#include "xentt/base/error.h"
#include "xentt/base/interrupt.h"
#include "xentt/base/printable.h"
#include "xentt/base/unix_socket.h"
#include "xentt/tracefmt/trace_log.h"
#include "xentt/tracefmt/trace_stream.h"

namespace fs = std::filesystem;
using namespace xentt;
using Clock = std::chrono::steady_clock;

namespace {

// A client that has not said hello after this long is dropped.
constexpr auto kHelloTimeout = std::chrono::seconds(10);

struct Options {
  std::string listen, dir;
  bool json = false, quiet = false;
};

// The producer's file name made safe to use in DIR: its last component,
// only [A-Za-z0-9._+-], no leading dot, ending in .xtl.
std::string safe_name(const std::string& hint) {
  std::string base = fs::path(hint).filename().string(), out;
  for (char c : base.substr(0, 100)) out += (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._+-", c)) ? c : '_';
  while (!out.empty() && out[0] == '.') out.erase(0, 1);
  if (out.empty()) out = "stream.xtl";
  if (!out.ends_with(".xtl")) out += ".xtl";
  return out;
}

struct Client {
  int fd;
  int id;
  Clock::time_point since = Clock::now();
  xtl::MessageReader hello_reader;
  std::optional<xtl::Hello> hello;
  xtl::FrameScanner scanner;
  std::string pending;  // received, not yet a whole frame
  int out = -1;         // the temporary file
  fs::path tmp;
  std::string reason;  // why the stream stopped, if it was cut short
  Client(int f, int i)
      : fd(f), id(i), hello_reader(fmt::format("client {}", i)), scanner(fmt::format("client {}", i)) {}
  ~Client() {
    ::close(fd);
    if (out >= 0) ::close(out);
  }
  std::string who() const {
    return hello ? fmt::format("client {} ({} pid {})", id, hello->producer.empty() ? "?" : printable(hello->producer),
                               hello->pid)
                 : fmt::format("client {}", id);
  }
};

class Server {
 public:
  Server(const Options& o, int listen_fd) : o_(o), listen_fd_(listen_fd) {}

  void run() {
    for (;;) {
      if (int sig = take_interrupt()) {
        say(fmt::format("stopping on {}", Interrupted(sig).signal_name()));
        break;
      }
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (auto& c : clients_) fds.push_back({c.fd, POLLIN, 0});
      int r = ::poll(fds.data(), fds.size(), 250);
      if (r < 0 && errno != EINTR) throw system_error("poll", errno);
      if (r > 0 && (fds[0].revents & POLLIN)) accept_one();
      std::size_t i = 1;
      for (auto it = clients_.begin(); it != clients_.end(); ++i) {
        bool keep = true;
        if (i < fds.size() && fds[i].revents) keep = on_readable(*it);
        else if (!it->hello && Clock::now() - it->since > kHelloTimeout) keep = refuse(*it, "no hello within 10 s");
        it = keep ? std::next(it) : clients_.erase(it);
      }
    }
    for (auto& c : clients_)
      if (c.hello) end_stream(c, "the save server stopped");
    clients_.clear();
  }

 private:
  const Options& o_;
  int listen_fd_;
  int next_id_ = 1;
  std::list<Client> clients_;  // std::list: poll's list is rebuilt each round, clients never move

  void say(const std::string& line) {
    if (!o_.quiet) fmt::print(stderr, "xentt_savelog: {}\n", printable(line));
  }

  void accept_one() {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;  // the peer gave up already
    // A client that stops reading must not block the others.
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    clients_.emplace_back(fd, next_id_++);
  }

  void send(Client& c, const std::string& msg) {
    std::size_t done = 0;
    while (done < msg.size()) {
      ssize_t n = ::send(c.fd, msg.data() + done, msg.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // it went away: what it would have read is in our log line
      done += static_cast<std::size_t>(n);
    }
  }

  bool refuse(Client& c, const std::string& reason) {
    say(fmt::format("{}: refused: {}", c.who(), reason));
    send(c, xtl::encode_answer({false, reason}));
    return false;
  }

  // False when the client is done with.
  bool on_readable(Client& c) {
    char buf[1 << 16];
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) {
      if (!c.hello) {
        say(fmt::format("{}: left before its hello", c.who()));
        return false;
      }
      end_stream(c, n == 0 ? "" : std::string("reading the stream: ") + std::strerror(errno));
      return false;
    }
    std::size_t used = 0, len = static_cast<std::size_t>(n);
    if (!c.hello) {
      try {
        used = c.hello_reader.feed(buf, len);
        if (!c.hello_reader.done()) return true;
        c.hello = c.hello_reader.hello();
      } catch (const Error& e) {
        return refuse(c, e.what());
      }
      if (c.hello->log_format_version != xtl::kFormatVersion)
        return refuse(c, fmt::format("{} sends trace log format version {}; this server saves version {}", c.who(),
                                     c.hello->log_format_version, xtl::kFormatVersion));
      c.tmp = fs::path(o_.dir) / fmt::format(".{}.{}.{}.receiving", safe_name(c.hello->name), ::getpid(), c.id);
      c.out = ::open(c.tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (c.out < 0) return refuse(c, system_error("cannot create " + c.tmp.string(), errno).what());
      say(fmt::format("{}: receiving {}", c.who(), safe_name(c.hello->name)));
      send(c, xtl::encode_answer({true, ""}));
    }
    c.pending.append(buf + used, len - used);
    try {
      std::size_t whole = c.scanner.scan(c.pending.data(), c.pending.size());
      write_out(c, whole);
    } catch (const Error& e) {
      end_stream(c, e.what());
      return false;
    }
    return true;
  }

  // Appends the first `n` pending bytes (whole frames) to the file.
  void write_out(Client& c, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      ssize_t w = ::write(c.out, c.pending.data() + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw system_error(c.tmp.string() + ": writing", errno);
      done += static_cast<std::size_t>(w);
    }
    c.pending.erase(0, n);
  }

  // Gives the temporary file its name: NAME[-K]SUFFIX, never replacing a file.
  fs::path publish(const Client& c, const std::string& suffix) {
    std::string name = safe_name(c.hello->name);
    std::string stem = name.substr(0, name.size() - 4);
    for (int k = 0; k < 10000; ++k) {
      fs::path p = fs::path(o_.dir) / (stem + (k ? fmt::format("-{}", k) : "") + ".xtl" + suffix);
      if (::link(c.tmp.c_str(), p.c_str()) == 0) {
        ::unlink(c.tmp.c_str());
        return p;
      }
      if (errno != EEXIST) throw system_error("cannot name " + c.tmp.string() + " " + p.string(), errno);
    }
    throw runtime_error("no free name for " + name + " in " + o_.dir);
  }

  // The stream is over: the producer shut down (`why` empty) or it went
  // wrong (`why`). A complete, verified log gets its name; anything else
  // is kept as .partial; the producer gets a receipt.
  void end_stream(Client& c, std::string why) {
    xtl::Receipt r;
    r.bytes = c.scanner.offset();
    bool durable = ::fsync(c.out) == 0;
    ::close(c.out);
    c.out = -1;
    if (why.empty() && !c.pending.empty())
      why = fmt::format("the stream was cut in the frame at offset {} ({} bytes of it came)", r.bytes, c.pending.size());
    else if (why.empty() && !c.scanner.ended())
      why = fmt::format("the stream was cut after {} bytes (no End frame)", r.bytes);
    if (why.empty() && !durable) why = c.tmp.string() + ": fsync failed";
    if (why.empty()) {
      try {
        xtl::LogReader check(c.tmp.string());
        if (!check.complete() || check.file_size() != r.bytes) why = "the log it sent does not read back complete";
      } catch (const Error& e) {
        why = e.what();
      }
    }
    try {
      if (r.bytes == 0) {
        ::unlink(c.tmp.c_str());
        r.reason = why.empty() ? "no log bytes came" : why;
        say(fmt::format("{}: nothing saved: {}", c.who(), r.reason));
      } else {
        r.complete = why.empty();
        r.file = publish(c, r.complete ? "" : ".partial").string();
        r.saved = true;
        r.reason = why;
        say(r.complete ? fmt::format("{}: saved {} ({} bytes, complete)", c.who(), r.file, r.bytes)
                       : fmt::format("{}: kept {} ({} bytes): {}", c.who(), r.file, r.bytes, why));
      }
    } catch (const Error& e) {
      r.reason = e.what();
      say(fmt::format("{}: {} (the bytes stay in {})", c.who(), e.what(), c.tmp.string()));
    }
    send(c, xtl::encode_receipt(r));
    if (o_.json) {
      nlohmann::json j{{"client", c.id},          {"producer", c.hello->producer}, {"pid", c.hello->pid},
                       {"name", c.hello->name},   {"saved", r.saved},              {"complete", r.complete},
                       {"bytes", r.bytes},        {"file", r.file},                {"reason", r.reason}};
      fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      std::fflush(stdout);
    }
  }
};

int run(const Options& o) {
  fs::path sock = xtl::parse_stream_address("LISTEN", o.listen);
  std::error_code ec;
  if (fs::exists(o.dir, ec) && !fs::is_directory(o.dir, ec))
    throw bad_input(o.dir + ": not a directory (-o names where the logs go)");
  fs::create_directories(o.dir, ec);
  if (ec) throw system_error("cannot create " + o.dir, ec.value());
  stop_on_signals();  // Ctrl-C, SIGTERM: finish cleanly, remove the socket
  int fd = listen_unix(sock, "a save server already listens");
  struct stat bound {};
  ::lstat(sock.c_str(), &bound);
  // Our socket is removed at the end, and only if it is still ours.
  struct Unlisten {
    int fd;
    fs::path path;
    ino_t ino;
    ~Unlisten() {
      ::close(fd);
      struct stat st {};
      if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == ino) ::unlink(path.c_str());
    }
  } unlisten{fd, sock, bound.st_ino};
  if (!o.quiet)
    fmt::print(stderr, "xentt_savelog: serving {}, saving into {} (Ctrl-C to stop)\n", o.listen, o.dir);
  Server(o, fd).run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  return tool_main(
      argc, argv, "xentt_savelog",
      "Save the trace logs producers stream (trace_task --stream, bts_extract --send) into a directory:\n"
      "one NAME.xtl per complete stream, NAME.xtl.partial for a cut one. Serves until Ctrl-C or SIGTERM.",
      [&](CLI::App& app) {
        app.add_option("LISTEN", o.listen, "unix:PATH, the socket to listen at (created mode 0600)")->required();
        app.add_option("-o,--output-dir", o.dir, "where the logs go (created if missing)")->required();
        app.add_flag("--json", o.json, "print one JSON object per finished stream on stdout");
        app.add_flag("-q,--quiet", o.quiet, "no log lines on stderr");
      },
      [&] { return run(o); });
}
