// xentt/debug/rsp.h: the framing of gdb's remote serial protocol, for a
// server: "$payload#cs" packets with their checksums and acknowledgements,
// '}' escapes and '*' run-length encoding, the interrupt byte (0x03).
// Bytes come from a client that may be hostile or broken: every input is
// taken apart without trusting it, a packet is bounded (kMaxPacket), and a
// malformed one becomes an event naming what was wrong, never a crash.
// Reader and writer live side by side here; what a packet asks is
// gdb_server's business.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "xentt/base/hex.h"  // hex_encode, hex_decode: the payloads' hex

namespace xentt::debug {

// The largest packet payload we take and offer (qSupported's PacketSize):
// enough for a 'g' reply of every x86-64 register (~1.2 KB of hex) and for
// memory reads of 8 KiB per packet.
inline constexpr std::size_t kMaxPacket = 0x4000;

struct RspEvent {
  enum Kind {
    Packet,     // a whole packet, checksum right: `payload` (escapes and run lengths undone)
    Interrupt,  // 0x03 outside a packet: the client asks a running target to stop
    Ack,        // '+'
    Nak,        // '-': the client wants our last packet again
    Bad,        // a malformed packet, dropped: `payload` says why, printable
  } kind;
  std::string payload;
};

// Takes a client's bytes apart, in whatever pieces they arrive. Bytes
// before a '$' other than '+', '-' and 0x03 are line noise, skipped. A
// packet over kMaxPacket bytes is dropped whole (up to its '#' and
// checksum) and reported as Bad. Cost: one pass over each byte.
class RspReader {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes.data(), bytes.size()); }
  // The next event of what was fed, or nothing until more bytes come.
  std::optional<RspEvent> next();
  // Bytes held for an unfinished packet.
  std::size_t pending() const { return buffer_.size() - pos_; }

 private:
  std::string buffer_;
  std::size_t pos_ = 0;
  bool skipping_ = false;  // inside an oversized packet, up to its '#'
  std::size_t skipped_ = 0;
};

// "$payload#cs" with '$', '#', '}' and '*' escaped. Cost: one pass.
std::string rsp_frame(std::string_view payload);

// A hex number of at most 16 digits (an address, a length); nothing for an
// empty, overlong or malformed one.
std::optional<std::uint64_t> parse_hex_u64(std::string_view hex);

}  // namespace xentt::debug
