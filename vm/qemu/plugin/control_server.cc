// control_server.cc: how libxentt talks to the plugin inside QEMU: a unix
// socket, one command per line, one JSON reply per line. Commands arrive
// only while the replay is paused (libxentt stops the VM first), so the
// vCPU threads are not running and the counters can be read and set
// directly.
//
//   settle PC RSP STACK      vCPU 0 is paused at PC, with RSP and the 48
//                            bytes at RSP (hex, or '-' when unreadable):
//                            judge what landed there now (settle_at_pause)
//   status                   counters per vCPU
//   set VCPU ICOUNT BRCTR    after a checkpoint load: where the guest is now
//   arm PATH HEADER-JSON     open the trace log (first time) and record the
//                            branches after this point
//   disarm                   stop recording; returns once written
//   close                    write the log's index and trailer
//   watch VCPU BRCTR         note the first block start with brctr >= BRCTR (0: off)
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>

#include "plugin_state.h"
#include "trace_sink.h"

namespace xentt::bt {
namespace {

std::string quote(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) continue;
    o += ch;
  }
  return o + "\"";
}

std::string fail(const std::string& why) { return "{\"ok\":false,\"error\":" + quote(why) + "}"; }

unsigned live_vcpus() {
  int n = qemu_plugin_num_vcpus();
  return n > 0 ? unsigned(n) : 0;
}

void set_slow(Plugin& pl) {
  for (unsigned v = 0; v < live_vcpus(); ++v)
    pl.counters(v).slow = (pl.armed || pl.vcpu[v].watch_brctr) ? 1 : 0;
}

void flush_batches(Plugin& pl) {
  if (!pl.sink) return;
  for (unsigned v = 0; v < live_vcpus(); ++v)
    pl.vcpu[v].batch = pl.sink->submit(std::uint16_t(v), pl.vcpu[v].take_batch());
}

std::string marker_json(Plugin& pl, const char* what) {
  Counters& c = pl.counters(0);
  char b[160];
  std::snprintf(b, sizeof b, "{\"what\":\"%s\",\"brctr\":%" PRIu64 ",\"icount\":%" PRIu64 "}", what, c.brctr, c.icount);
  return b;
}

std::string command(const std::string& line) {
  Plugin& pl = plugin();
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  if (cmd == "settle") {
    PausedCpu at;
    std::string stack;
    if (!(in >> std::hex >> at.pc >> at.rsp >> stack)) return fail("usage: settle PC RSP STACK-HEX|-");
    if (stack != "-") {
      if (stack.size() != 96 || stack.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        return fail("settle: STACK must be 48 bytes in hex");
      auto* bytes = reinterpret_cast<std::uint8_t*>(at.stack);  // little-endian words, as the vCPU's stack
      for (std::size_t i = 0; i < sizeof at.stack; ++i) bytes[i] = std::uint8_t(std::stoul(stack.substr(2 * i, 2), nullptr, 16));
      at.stack_read = true;
    }
    if (live_vcpus() > 0) settle_at_pause(0, at);
    return "{\"ok\":true}";
  }
  if (cmd == "status") {
    std::string out = "{\"ok\":true,\"armed\":" + std::string(pl.armed ? "true" : "false");
    out += ",\"records\":" + std::to_string(pl.sink ? pl.sink->records() : 0);
    if (!pl.error.empty()) out += ",\"error\":" + quote(pl.error);
    out += ",\"vcpus\":[";
    for (unsigned v = 0; v < live_vcpus(); ++v) {
      Counters& c = pl.counters(v);
      const VcpuExtra& x = pl.vcpu[v];
      char b[320];
      std::snprintf(b, sizeof b,
                    "%s{\"icount\":%" PRIu64 ",\"brctr\":%" PRIu64 ",\"events\":%" PRIu64 ",\"faults\":%" PRIu64
                    ",\"unexplained\":%" PRIu64 ",\"hit\":%s",
                    v ? "," : "", c.icount, c.brctr, x.events, x.faults, x.unexplained, x.hit.hit ? "true" : "false");
      out += b;
      if (x.hit.hit) {
        std::snprintf(b, sizeof b, ",\"hit_icount\":%" PRIu64 ",\"hit_pc\":%" PRIu64 ",\"hit_brctr\":%" PRIu64,
                      x.hit.icount, x.hit.pc, x.hit.brctr);
        out += b;
      }
      out += "}";
    }
    return out + "]}";
  }
  if (cmd == "set") {
    unsigned v;
    std::uint64_t icount, brctr;
    if (!(in >> v >> icount >> brctr) || v >= live_vcpus()) return fail("usage: set VCPU ICOUNT BRCTR");
    Counters& c = pl.counters(v);
    c.icount = icount;
    c.brctr = brctr;
    c.prev = 0;
    c.expect = kNoExpectation;
    pl.vcpu[v].hit = {};
    return "{\"ok\":true}";
  }
  if (cmd == "watch") {
    unsigned v;
    std::uint64_t b;
    if (!(in >> v >> b) || v >= live_vcpus()) return fail("usage: watch VCPU BRCTR");
    pl.vcpu[v].watch_brctr = b;
    pl.vcpu[v].hit = {};
    set_slow(pl);
    return "{\"ok\":true}";
  }
  if (cmd == "arm") {
    std::string path, header;
    in >> path;
    std::getline(in, header);
    if (path.empty()) return fail("usage: arm PATH HEADER-JSON");
    if (!pl.sink) {
      try {
        pl.sink = std::make_unique<TraceSink>(path, header.empty() ? "{}" : header);
      } catch (const std::exception& e) {
        return fail(e.what());
      }
    }
    pl.sink->marker(0, marker_json(pl, "arm"));
    // Settled at this pause: what landed here is counted and belongs before
    // the window.
    pl.vcpu[0].floor = pl.counters(0).brctr;
    pl.armed = true;
    set_slow(pl);
    return "{\"ok\":true}";
  }
  if (cmd == "disarm" || cmd == "close") {
    if (pl.armed) {
      // Settled at this pause: the branch that landed here is in the batch.
      pl.armed = false;
      set_slow(pl);
      flush_batches(pl);
      if (pl.sink) pl.sink->marker(0, marker_json(pl, "disarm"));
    }
    std::string err = pl.sink ? pl.sink->flush() : "";
    std::uint64_t records = pl.sink ? pl.sink->records() : 0;
    if (cmd == "close") pl.sink.reset();
    if (!err.empty()) return fail(err);
    return "{\"ok\":true,\"records\":" + std::to_string(records) + "}";
  }
  return fail("unknown command: " + cmd);
}

void serve(int lfd) {
  for (;;) {
    int fd = ::accept(lfd, nullptr, nullptr);
    if (fd < 0) continue;
    std::string buf;
    char chunk[4096];
    for (;;) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, std::size_t(n));
      std::size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        std::string reply = command(buf.substr(0, nl)) + "\n";
        buf.erase(0, nl + 1);
        for (std::size_t off = 0; off < reply.size();) {
          ssize_t w = ::write(fd, reply.data() + off, reply.size() - off);
          if (w <= 0) break;
          off += std::size_t(w);
        }
      }
    }
    ::close(fd);
  }
}

}  // namespace

bool start_control_server(const std::string& socket_path) {
  Plugin& pl = plugin();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    pl.error = "control socket path too long: " + socket_path;
    return false;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::unlink(socket_path.c_str());
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4) != 0) {
    pl.error = "cannot listen on " + socket_path + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  std::thread(serve, fd).detach();
  return true;
}

}  // namespace xentt::bt
