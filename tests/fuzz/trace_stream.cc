// Fuzz target: what a save server reads from a client it does not trust
// (docs/trace-stream.md): a control message (MessageReader, then each
// decoder), then log bytes (FrameScanner). Everything is refused with an
// xentt::Error or taken (fuzz_contract.h); and the pieces bytes arrive in
// change nothing: the input fed whole and fed in pieces (sizes from its
// first byte) accepts the same bytes, ends alike and fails alike.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_contract.h"
#include "xentt/tracefmt/trace_stream.h"

using namespace xentt;
using namespace xentt::xtl;

namespace {
struct Outcome {
  std::size_t message_bytes = 0;
  std::uint64_t accepted = 0;
  bool ended = false, failed = false;
};

Outcome feed(const std::uint8_t* data, std::size_t size, std::size_t piece) {
  Outcome o;
  MessageReader m("fuzz");
  FrameScanner s("fuzz");
  std::string pending;
  try {
    std::size_t at = 0;
    while (at < size && !m.done()) {
      std::size_t n = std::min(piece, size - at);
      at += m.feed(data + at, n);
    }
    o.message_bytes = at;
    if (!m.done()) return o;
    fuzz::only_errors([&] { (void)m.hello(); });
    fuzz::only_errors([&] { (void)m.answer(); });
    fuzz::only_errors([&] { (void)m.receipt(); });
    while (at < size) {
      std::size_t n = std::min(piece, size - at);
      pending.append(reinterpret_cast<const char*>(data + at), n);
      at += n;
      pending.erase(0, s.scan(pending.data(), pending.size()));
    }
  } catch (const Error& e) {
    fuzz::check_message(e.what());
    o.failed = true;
  }
  o.accepted = s.offset();
  o.ended = s.ended();
  return o;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t piece = data[0] % 64 + 1;
  Outcome whole = feed(data + 1, size - 1, size), pieces = feed(data + 1, size - 1, piece);
  fuzz::require(whole.failed == pieces.failed, "fed in pieces, the stream fails where fed whole it does not");
  if (!whole.failed) {
    fuzz::require(whole.message_bytes == pieces.message_bytes, "the message ends elsewhere when fed in pieces");
    fuzz::require(whole.accepted == pieces.accepted, "fed in pieces, other bytes are accepted");
    fuzz::require(whole.ended == pieces.ended, "fed in pieces, the stream ends differently");
  }
  return 0;
}
