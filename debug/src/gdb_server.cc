#include "xentt/debug/gdb_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/base/interrupt.h"
#include "xentt/base/printable.h"
#include "xentt/base/unix_socket.h"
#include "xentt/debug/x86_tdesc.h"

namespace xentt::debug {

namespace {
constexpr std::string_view kSupported =
    "PacketSize=4000;qXfer:features:read+;ReverseStep+;ReverseContinue+;QStartNoAckMode+;swbreak+;vContSupported+";
constexpr std::string_view kReadOnly = "E01";  // a replay cannot change: writes are refused
constexpr std::string_view kBadRequest = "E02";
constexpr std::string_view kUnreadable = "E14";  // EFAULT, as gdbserver: memory not mapped
constexpr std::size_t kMaxWatchpoints = 16;      // the plugin's ranges

// "addr,len" of an 'm' or qXfer request.
std::optional<std::pair<std::uint64_t, std::uint64_t>> addr_len(std::string_view s) {
  auto comma = s.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto a = parse_hex_u64(s.substr(0, comma)), l = parse_hex_u64(s.substr(comma + 1));
  if (!a || !l) return std::nullopt;
  return std::pair{*a, *l};
}
}  // namespace

GdbSession::~GdbSession() {
  // A client that goes away takes its breakpoints and watchpoints with it.
  for (std::uint64_t a : mine_)
    if (auto it = sh_.breakpoints->find(a); it != sh_.breakpoints->end()) sh_.breakpoints->erase(it);
  for (const Watchpoint& w : my_watchpoints_)
    if (auto it = sh_.watchpoints->find(w); it != sh_.watchpoints->end()) sh_.watchpoints->erase(it);
}

std::string GdbSession::on_bytes(std::string_view bytes, const std::function<bool()>& interrupted) {
  reader_.feed(bytes);
  std::string out;
  while (auto ev = reader_.next()) {
    switch (ev->kind) {
      case RspEvent::Ack:
      case RspEvent::Interrupt:  // nothing runs between requests: nothing to stop
        break;
      case RspEvent::Nak:
        if (!no_ack_) out += last_sent_;
        break;
      case RspEvent::Bad:
        log_(ev->payload + ", dropped");
        if (!no_ack_) out += "-";
        break;
      case RspEvent::Packet: {
        if (!no_ack_) out += "+";
        const bool enter_no_ack = ev->payload == "QStartNoAckMode";
        std::string reply = handle(ev->payload, interrupted);
        if (finished_ && reply.empty() && ev->payload == "k") return out;  // 'k' has no reply
        for (const std::string& o : console_) out += rsp_frame(o);
        console_.clear();
        last_sent_ = rsp_frame(reply);
        out += last_sent_;
        if (enter_no_ack) no_ack_ = true;
        if (finished_) return out;
        break;
      }
    }
  }
  return out;
}

std::string GdbSession::stop_reply(const Stop& why) const {
  switch (why.kind) {
    case StopKind::Breakpoint: return swbreak_ ? "T05thread:01;swbreak:;" : "T05thread:01;";
    case StopKind::Watchpoint: {
      const Watchpoint& w = *why.watch;
      const char* kind = w.kind == Watchpoint::Write ? "watch" : w.kind == Watchpoint::Read ? "rwatch" : "awatch";
      // gdb matches the address against its watchpoints' ranges.
      return fmt::format("T05thread:01;{}:{:x};", kind, std::max(why.data_addr, w.addr));
    }
    case StopKind::Step: return "T05thread:01;";
    case StopKind::Interrupted: return "T02thread:01;";
    case StopKind::HistoryBegin: return "T05thread:01;replaylog:begin;";
    case StopKind::HistoryEnd: return "T05thread:01;replaylog:end;";
  }
  return "S05";
}

Stop GdbSession::run(const std::function<Stop(const Triggers&)>& how) {
  const std::vector<std::uint64_t> bps(sh_.breakpoints->begin(), sh_.breakpoints->end());
  const std::vector<Watchpoint> wps(sh_.watchpoints->begin(), sh_.watchpoints->end());
  last_stop_ = how(Triggers{bps, wps});
  return last_stop_;
}

std::string GdbSession::set_breakpoint(const std::string& p, bool insert) {
  // Z0,addr,kind (software), Z1 (hardware: the same to a replay), Z2
  // (write watchpoint), Z3 (read), Z4 (access): TYPE,ADDR,KIND|LENGTH.
  if (p.size() < 3 || p[1] < '0' || p[1] > '4' || p[2] != ',') return "";
  auto rest = std::string_view(p).substr(3);
  rest = rest.substr(0, rest.find(';'));  // conditions and commands: not offered
  auto al = addr_len(rest);
  if (!al) return std::string(kBadRequest);
  if (p[1] >= '2') {
    if (!sh_.target.can_watch()) return "";  // not supported: gdb says it cannot insert them
    if (al->second == 0 || al->second > 4096 || al->first + al->second < al->first) return std::string(kBadRequest);
    Watchpoint w{p[1] == '2' ? Watchpoint::Write : p[1] == '3' ? Watchpoint::Read : Watchpoint::Access, al->first,
                 al->second};
    if (insert) {
      if (sh_.watchpoints->size() >= kMaxWatchpoints) return "E03";  // gdb then says it cannot insert it
      sh_.watchpoints->insert(w);
      my_watchpoints_.insert(w);
    } else if (auto it = my_watchpoints_.find(w); it != my_watchpoints_.end()) {
      my_watchpoints_.erase(it);
      sh_.watchpoints->erase(sh_.watchpoints->find(w));
    }
    return "OK";
  }
  if (insert) {
    sh_.breakpoints->insert(al->first);
    mine_.insert(al->first);
  } else if (auto it = mine_.find(al->first); it != mine_.end()) {
    mine_.erase(it);
    sh_.breakpoints->erase(sh_.breakpoints->find(al->first));
  }
  return "OK";
}

std::string GdbSession::monitor(const std::string& hex) {
  auto cmd = hex_decode(hex);
  if (!cmd) return std::string(kBadRequest);
  // The text goes as console output ('O' packets) before the reply.
  try {
    console_.push_back("O" + hex_encode(sh_.target.monitor(*cmd)));
    return "OK";
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    console_.push_back("O" + hex_encode(std::string(e.what()) + "\n"));
    return "E01";
  }
}

std::string GdbSession::query(const std::string& p) {
  if (p.starts_with("qSupported")) {
    swbreak_ = p.find("swbreak+") != std::string::npos;
    return std::string(kSupported);
  }
  if (p == "qAttached" || p.starts_with("qAttached:")) return "1";
  if (p == "qC") return "QC01";
  if (p == "qfThreadInfo") return "m01";
  if (p == "qsThreadInfo") return "l";
  if (p.starts_with("qSymbol")) return "OK";
  if (p.starts_with("qXfer:features:read:")) {
    std::string_view rest = std::string_view(p).substr(std::strlen("qXfer:features:read:"));
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return std::string(kBadRequest);
    auto xml = x86_64_target_xml(rest.substr(0, colon));
    auto al = addr_len(rest.substr(colon + 1));
    if (!xml) return "E00";
    if (!al) return std::string(kBadRequest);
    if (al->first >= xml->size()) return "l";
    std::size_t n = std::min<std::uint64_t>({al->second, xml->size() - al->first, kMaxPacket - 1});
    return (al->first + n >= xml->size() ? "l" : "m") + std::string(xml->substr(al->first, n));
  }
  return "";
}

std::string GdbSession::handle(const std::string& p, const std::function<bool()>& interrupted) {
  if (p.empty()) return "";
  auto forward = [&](const Triggers& t) { return sh_.target.resume(t, interrupted); };
  auto backward = [&](const Triggers& t) { return sh_.target.reverse_resume(t, interrupted); };
  auto step = [&](const Triggers&) { return sh_.target.step(); };
  auto step_back = [&](const Triggers&) { return sh_.target.reverse_step(); };
  switch (p[0]) {
    case '?': return stop_reply(last_stop_);
    case 'q':
      if (p.starts_with("qRcmd,")) return monitor(p.substr(6));
      return query(p);
    case 'Q':
      if (p == "QStartNoAckMode") return "OK";
      return "";
    case 'H':
    case 'T': return "OK";
    case 'g': return encode_g_packet(sh_.target.registers());
    case 'p': {
      auto n = parse_hex_u64(std::string_view(p).substr(1));
      if (!n) return std::string(kBadRequest);
      auto r = encode_register(sh_.target.registers(), *n);
      return r ? *r : "E00";
    }
    case 'G':
    case 'P':
    case 'M':
    case 'X': return std::string(kReadOnly);
    case 'm': {
      auto al = addr_len(std::string_view(p).substr(1));
      if (!al) return std::string(kBadRequest);
      const std::size_t len = std::min<std::uint64_t>(al->second, (kMaxPacket - 1) / 2);
      auto bytes = sh_.target.read_memory(al->first, len);
      return bytes ? hex_encode(*bytes) : std::string(kUnreadable);
    }
    case 'Z': return set_breakpoint(p, true);
    case 'z': return set_breakpoint(p, false);
    case 'c':
    case 'C': return stop_reply(run(forward));
    case 's':
    case 'S': return stop_reply(run(step));
    case 'b':
      if (p == "bc") return stop_reply(run(backward));
      if (p == "bs") return stop_reply(run(step_back));
      return "";
    case 'v':
      if (p == "vCont?") return "vCont;c;C;s;S";
      if (p.starts_with("vCont;c") || p.starts_with("vCont;C")) return stop_reply(run(forward));
      if (p.starts_with("vCont;s") || p.starts_with("vCont;S")) return stop_reply(run(step));
      if (p.starts_with("vKill")) {
        finished_ = true;  // this client goes; the replay stays for the others
        return "OK";
      }
      return "";
    case 'D':
      finished_ = true;
      return "OK";
    case 'k':
      finished_ = true;
      return "";
    default: return "";
  }
}

// --- the sockets ---

struct GdbServer::Client {
  int fd;
  int id;
  std::string kind;
  std::unique_ptr<GdbSession> session;
  ~Client() { ::close(fd); }
};

namespace {
int must(int rc, const std::string& what) {
  if (rc < 0) throw runtime_error(what + ": " + std::strerror(errno));
  return rc;
}

struct TcpSpec {
  in_addr addr{};
  std::uint16_t port = 0;
};

TcpSpec parse_tcp_spec(const std::string& spec, bool any) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos) throw bad_input("--listen " + spec + ": want HOST:PORT, e.g. 127.0.0.1:1234");
  std::string host = spec.substr(0, colon), port_s = spec.substr(colon + 1);
  if (host == "localhost") host = "127.0.0.1";
  TcpSpec t;
  if (::inet_pton(AF_INET, host.c_str(), &t.addr) != 1)
    throw bad_input("--listen " + spec + ": HOST must be an IPv4 address such as 127.0.0.1");
  char* end = nullptr;
  long port = std::strtol(port_s.c_str(), &end, 10);
  if (port_s.empty() || *end || port < 0 || port > 65535) throw bad_input("--listen " + spec + ": bad port");
  if ((ntohl(t.addr.s_addr) >> 24) != 127 && !any) {
    throw bad_input("--listen " + spec +
                    ": not a loopback address; anyone who reaches it can read the guest's memory (--listen-any "
                    "permits it)");
  }
  t.port = static_cast<std::uint16_t>(port);
  return t;
}

int listen_tcp(const std::string& spec, bool any, int& port_out) {
  const TcpSpec t = parse_tcp_spec(spec, any);
  int fd = must(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr = t.addr;
  a.sin_port = htons(t.port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    int err = errno;
    ::close(fd);
    throw bad_input(fmt::format("--listen {}: {}{}", spec, std::strerror(err),
                                err == EADDRINUSE ? " (another program listens there: pick another port)" : ""));
  }
  must(::listen(fd, 16), "listen");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port_out = ntohs(a.sin_port);
  return fd;
}
}  // namespace

void check_listen_spec(const std::string& spec, bool any_address) { parse_tcp_spec(spec, any_address); }

GdbServer::GdbServer(DebugTarget& target, const ListenOptions& opts, std::function<void(const std::string&)> log)
    : target_(target), log_(std::move(log)), unix_path_(opts.unix_path) {
  int port = 0;
  if (opts.tcp) tcp_fd_ = listen_tcp(*opts.tcp, opts.any_address, port);  // a bad --listen fails before the socket file exists
  try {
    unix_fd_ = listen_unix(unix_path_, "a debug server already serves this replay");
  } catch (...) {
    if (tcp_fd_ >= 0) ::close(tcp_fd_);
    throw;
  }
  if (opts.tcp) tcp_port_ = port;
}

GdbServer::~GdbServer() {
  clients_.clear();
  if (tcp_fd_ >= 0) ::close(tcp_fd_);
  if (unix_fd_ >= 0) {
    ::close(unix_fd_);
    ::unlink(unix_path_.c_str());
  }
}

void GdbServer::accept_on(int listen_fd, const std::string& kind) {
  int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;  // the peer gave up already
  if (kind == "tcp") {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
  }
  auto c = std::make_unique<Client>();
  c->fd = fd;
  c->id = next_id_++;
  c->kind = kind;
  const int id = c->id;
  c->session = std::make_unique<GdbSession>(GdbSession::Shared{target_, &breakpoints_, &watchpoints_},
                                            [this, id](const std::string& m) { log_(fmt::format("client {}: {}", id, m)); });
  log_(fmt::format("client {} connected ({})", id, kind));
  clients_.push_back(std::move(c));
}

bool GdbServer::service(Client& c) {
  char buf[8192];
  ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
  if (n < 0) return true;
  std::string pending(buf, std::size_t(n));
  // A run asks this: a 0x03 from the client that resumed stops it; so
  // does the client going away, or a signal to the server.
  bool gone = false;
  auto interrupted = [&]() {
    pollfd p{c.fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
      char b[4096];
      ssize_t m = ::recv(c.fd, b, sizeof b, MSG_DONTWAIT);
      if (m <= 0) {
        gone = true;
        return true;
      }
      std::string_view got(b, std::size_t(m));
      bool stop = got.find('\x03') != std::string_view::npos;
      pending.append(got);  // the rest is requests, handled after the stop
      if (stop) pending.erase(pending.find('\x03'), 1);
      return stop;
    }
    return false;
  };
  while (!pending.empty()) {
    std::string in = std::move(pending);
    pending.clear();
    std::string out;
    try {
      out = c.session->on_bytes(in, interrupted);
    } catch (const Error& e) {
      // The target failed (QEMU gone, a damaged recording): this request
      // gets an error, the log says why, the other clients go on.
      log_(fmt::format("client {}: {}", c.id, e.what()));
      out = rsp_frame("E03");
    }
    for (std::size_t off = 0; off < out.size();) {
      ssize_t w = ::send(c.fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (w <= 0) {
        if (w < 0 && errno == EINTR) continue;
        return false;
      }
      off += std::size_t(w);
    }
    if (gone || c.session->finished()) return false;
  }
  return true;
}

void GdbServer::serve(const std::function<bool()>& keep_going) {
  for (;;) {
    if (take_interrupt()) return;
    if (keep_going && !keep_going()) return;
    std::vector<pollfd> fds;
    fds.push_back({unix_fd_, POLLIN, 0});
    if (tcp_fd_ >= 0) fds.push_back({tcp_fd_, POLLIN, 0});
    const std::size_t first_client = fds.size();
    for (const auto& c : clients_) fds.push_back({c->fd, POLLIN, 0});
    int n = ::poll(fds.data(), fds.size(), 200);
    if (n <= 0) continue;  // a timeout, or a signal (seen at the top)
    for (std::size_t i = first_client; i < fds.size(); i++) {
      Client& c = *clients_[i - first_client];
      if (!fds[i].revents) continue;
      if (!service(c)) {
        log_(fmt::format("client {} disconnected", c.id));
        clients_[i - first_client].reset();
      }
    }
    std::erase_if(clients_, [](const auto& c) { return !c; });
    if (fds[0].revents) accept_on(unix_fd_, "unix");
    if (tcp_fd_ >= 0 && fds[1].revents) accept_on(tcp_fd_, "tcp");
  }
}

}  // namespace xentt::debug
