// control_server.cc: the plugin's side of its control protocol
// (protocol.h): a thread that accepts the engine's connection, reads one
// request per line and answers each with one JSON object.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>

#include "plugin_state.h"
#include "protocol.h"
#include "trace_sink.h"

namespace xentt::bt {
namespace {
namespace proto = xentt::qemu::plugin_protocol;

std::string quote(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) continue;
    o += ch;
  }
  return o + "\"";
}

// `"name":` for the replies below.
std::string key(const char* name) { return std::string("\"") + name + "\":"; }

std::string fail(const std::string& why) { return "{" + key(proto::kOk) + "false," + key(proto::kError) + quote(why) + "}"; }
std::string ok() { return "{" + key(proto::kOk) + "true}"; }
std::string ok_records(std::uint64_t n) { return "{" + key(proto::kOk) + "true," + key(proto::kRecords) + std::to_string(n) + "}"; }

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
  if (cmd == proto::kSettle) {
    PausedCpu at;
    std::string stack;
    if (!(in >> std::hex >> at.pc >> at.rsp >> stack)) return fail("usage: settle PC RSP STACK-HEX|-");
    if (stack != "-") {
      if (stack.size() != 2 * proto::kSettleStackBytes || stack.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        return fail("settle: STACK must be 48 bytes in hex");
      auto* bytes = reinterpret_cast<std::uint8_t*>(at.stack);  // little-endian words, as the vCPU's stack
      for (std::size_t i = 0; i < sizeof at.stack; ++i) bytes[i] = std::uint8_t(std::stoul(stack.substr(2 * i, 2), nullptr, 16));
      at.stack_read = true;
    }
    if (live_vcpus() > 0) settle_at_pause(0, at);
    return ok();
  }
  if (cmd == proto::kStatus) {
    auto num = [](const char* name, std::uint64_t v) { return key(name) + std::to_string(v); };
    std::string out = "{" + key(proto::kOk) + "true," + key(proto::kArmed) + (pl.armed ? "true" : "false");
    out += "," + num(proto::kRecords, pl.sink ? pl.sink->records() : 0);
    if (!pl.error.empty()) out += "," + key(proto::kError) + quote(pl.error);
    out += "," + key(proto::kVcpus) + "[";
    for (unsigned v = 0; v < live_vcpus(); ++v) {
      Counters& c = pl.counters(v);
      const VcpuExtra& x = pl.vcpu[v];
      out += (v ? ",{" : "{") + num(proto::kIcount, c.icount) + "," + num(proto::kBrctr, c.brctr) + "," +
             num(proto::kEvents, x.events) + "," + num(proto::kFaults, x.faults) + "," +
             num(proto::kUnexplained, x.unexplained) + "," + key(proto::kHit) + (x.hit.hit ? "true" : "false");
      if (x.hit.hit) {
        out += "," + num(proto::kHitIcount, x.hit.icount) + "," + num(proto::kHitPc, x.hit.pc) + "," +
               num(proto::kHitBrctr, x.hit.brctr);
      }
      out += "}";
    }
    return out + "]}";
  }
  if (cmd == proto::kSet) {
    unsigned v;
    std::uint64_t icount, brctr;
    if (!(in >> v >> icount >> brctr) || v >= live_vcpus()) return fail("usage: set VCPU ICOUNT BRCTR");
    Counters& c = pl.counters(v);
    c.icount = icount;
    c.brctr = brctr;
    c.prev = 0;
    c.expect = kNoExpectation;
    pl.vcpu[v].hit = {};
    return ok();
  }
  if (cmd == proto::kWatch) {
    unsigned v;
    std::uint64_t b;
    if (!(in >> v >> b) || v >= live_vcpus()) return fail("usage: watch VCPU BRCTR");
    pl.vcpu[v].watch_brctr = b;
    pl.vcpu[v].hit = {};
    set_slow(pl);
    return ok();
  }
  if (cmd == proto::kArm) {
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
    return ok();
  }
  if (cmd == proto::kDisarm || cmd == proto::kClose) {
    if (pl.armed) {
      // Settled at this pause: the branch that landed here is in the batch.
      pl.armed = false;
      set_slow(pl);
      flush_batches(pl);
      if (pl.sink) pl.sink->marker(0, marker_json(pl, "disarm"));
    }
    std::string err = pl.sink ? pl.sink->flush() : "";
    std::uint64_t records = pl.sink ? pl.sink->records() : 0;
    if (cmd == proto::kClose) pl.sink.reset();
    if (!err.empty()) return fail(err);
    return ok_records(records);
  }
  if (cmd == proto::kMemWatch) {
    std::string mode;
    in >> mode;
    MemWatch w;
    if (mode == "off") w.mode = MemWatch::Off;
    else if (mode == "first") w.mode = MemWatch::First;
    else if (mode == "last") w.mode = MemWatch::Last;
    else if (mode == "log") w.mode = MemWatch::Log;
    else return fail("usage: memwatch off|first|last|log [r|w|a v|p ADDR LEN]...");
    std::string kind, space;
    while (in >> kind) {
      MemRange r;
      std::uint64_t len = 0;
      if (!(in >> space >> std::hex >> r.lo >> len >> std::dec) || (kind != "r" && kind != "w" && kind != "a") ||
          (space != "v" && space != "p") || len == 0 || r.lo + len < r.lo)
        return fail("memwatch: each range is r|w|a v|p ADDR LEN (hex, LEN > 0, not wrapping)");
      r.hi = r.lo + len;
      r.read = kind != "w";
      r.write = kind != "r";
      r.physical = space == "p";
      w.ranges.push_back(r);
    }
    if (w.ranges.size() > proto::kMaxRanges) return fail("memwatch: at most 16 ranges");
    if (w.mode != MemWatch::Off && !pl.watch_enabled)
      return fail("memwatch: this replay was started without memory watching (plugin argument watch=on)");
    pl.memwatch = std::move(w);
    return ok();
  }
  if (cmd == proto::kMemHits) {
    const MemWatch& w = pl.memwatch;
    std::string out = "{" + key(proto::kOk) + "true,\"count\":" + std::to_string(w.count) + ",\"hits\":[";
    static constexpr char kDigits[] = "0123456789abcdef";
    for (std::size_t i = 0; i < w.hits.size(); ++i) {
      const MemHit& h = w.hits[i];
      char b[256];
      std::snprintf(b, sizeof b,
                    "%s{\"icount\":%" PRIu64 ",\"pc\":%" PRIu64 ",\"brctr\":%" PRIu64 ",\"addr\":%" PRIu64
                    ",\"size\":%u,\"write\":%s,\"range\":%zu,\"data\":\"",
                    i ? "," : "", h.icount, h.pc, h.brctr, h.addr, h.size, h.write ? "true" : "false", h.range);
      out += b;
      for (unsigned char ch : h.data) {
        out += kDigits[ch >> 4];
        out += kDigits[ch & 15];
      }
      out += "\"}";
    }
    return out + "]}";
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
