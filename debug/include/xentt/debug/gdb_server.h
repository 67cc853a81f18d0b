// xentt/debug/gdb_server.h: a gdb remote-protocol server for several
// clients at once over one DebugTarget (tt_replay --serve).
//
// What the clients see (docs/debug-server.md): one target, one vCPU, all
// stop. The server handles one request at a time, in the order they come.
// While a client's continue or step runs, the others' requests wait and
// are answered after the stop; only the client that resumed gets the stop
// reply (gdb's all-stop protocol has no way to tell a client that did not
// ask). gdb caches registers and memory until it resumes: after another
// client moved the target, `monitor when` says where it is, and
// `flushregs` (maint flush register-cache) refreshes gdb's view. Breakpoints
// are the union of every client's; a client that disconnects takes its own
// with it. Writes to registers or memory are refused: a replay cannot
// change. Malformed or oversized packets are dropped with a line in the
// log; a client that misbehaves never disturbs the others.
#pragma once

#include <cstdint>
#include <functional>
#include <filesystem>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xentt/debug/debug_target.h"
#include "xentt/debug/rsp.h"

namespace xentt::debug {

// One client's protocol state and its request handling, apart from any
// socket: bytes in, bytes out (unit-tested and fuzzed that way).
class GdbSession {
 public:
  struct Shared {
    DebugTarget& target;
    std::multiset<std::uint64_t>* breakpoints;  // every client's, counted
    std::multiset<Watchpoint>* watchpoints;     // every client's, counted
  };
  GdbSession(Shared shared, std::function<void(const std::string&)> log) : sh_(shared), log_(std::move(log)) {}
  ~GdbSession();

  // Takes the client's bytes; returns what to send back. `interrupted`
  // is what a run asks (the server reads the client's 0x03 there).
  std::string on_bytes(std::string_view bytes, const std::function<bool()>& interrupted);
  // True once the client detached or killed: close it.
  bool finished() const { return finished_; }
  // The reply to one request payload (no framing). Public for tests.
  std::string handle(const std::string& payload, const std::function<bool()>& interrupted);

 private:
  std::string stop_reply(const Stop& why) const;
  Stop run(const std::function<Stop(const Triggers&)>& how);
  std::string query(const std::string& payload);
  std::string monitor(const std::string& hex_command);
  std::string set_breakpoint(const std::string& payload, bool insert);

  Shared sh_;
  std::function<void(const std::string&)> log_;
  RspReader reader_;
  bool no_ack_ = false;
  bool swbreak_ = false;
  bool finished_ = false;
  std::string last_sent_;
  std::vector<std::string> console_;  // 'O' packets to send before the reply
  Stop last_stop_;
  std::multiset<std::uint64_t> mine_;  // this client's breakpoints
  std::multiset<Watchpoint> my_watchpoints_;
};

struct ListenOptions {
  std::filesystem::path unix_path;        // always: created mode 0600
  std::optional<std::string> tcp;         // "HOST:PORT": also there
  bool any_address = false;               // permit a non-loopback HOST
};

// Throws BadInput when a --listen HOST:PORT is malformed, or not loopback
// without any_address: what GdbServer would refuse, found before anything
// starts (whether the port is free is known only when it binds).
void check_listen_spec(const std::string& spec, bool any_address);

class GdbServer {
 public:
  // Binds the sockets. Throws BadInput naming the address when it is in
  // use, another server answers at the unix path, or HOST is not loopback
  // without any_address.
  GdbServer(DebugTarget& target, const ListenOptions& opts, std::function<void(const std::string&)> log);
  ~GdbServer();
  // The TCP port bound (useful with port 0), when listening on TCP.
  std::optional<int> tcp_port() const { return tcp_port_; }
  const std::filesystem::path& unix_path() const { return unix_path_; }

  // Serves until `keep_going()` says no (asked 5 times a second) or a
  // signal of stop_on_signals() arrives. Cost: a poll() per 200 ms idle.
  void serve(const std::function<bool()>& keep_going);

 private:
  struct Client;
  void accept_on(int listen_fd, const std::string& kind);
  // Reads what client `c` sent and answers; false when it is gone.
  bool service(Client& c);

  DebugTarget& target_;
  std::function<void(const std::string&)> log_;
  std::multiset<std::uint64_t> breakpoints_;
  std::multiset<Watchpoint> watchpoints_;
  std::filesystem::path unix_path_;
  int unix_fd_ = -1, tcp_fd_ = -1;
  std::optional<int> tcp_port_;
  std::vector<std::unique_ptr<Client>> clients_;
  int next_id_ = 1;
};

}  // namespace xentt::debug
