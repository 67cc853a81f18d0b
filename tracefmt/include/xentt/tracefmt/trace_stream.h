// xentt/tracefmt/trace_stream.h: the trace log over a socket, to a
// consumer that reads it as it is produced.
//
// A producer connects, sends a hello; the consumer accepts or refuses it
// (with a reason); then the producer sends the bytes of a trace log exactly
// as they are in the .xtl file (signature, header frame, frames, index,
// End trailer), shuts its side down, and the consumer answers with a
// receipt (what it kept, under which name). Control messages share one
// envelope that never changes: an 8-byte magic, the sender's protocol
// version, a length, a JSON object; so two versions can always tell each
// other that they differ. The byte layout is docs/trace-stream.md; the
// encoders and the checkers of both sides live here, side by side
// (src/trace_stream.cc); the producer's socket side is StreamSender
// (src/trace_stream_sender.cc). What a consumer does with a stream (where
// it saves it) is the program's business (tools/xentt_savelog.cc).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace xentt::xtl {

// The stream protocol's hard version: changes only when a version-1 peer
// could misread a version-2 peer. Not the log's format version (kFormatVersion).
inline constexpr std::uint32_t kStreamVersion = 1;
// Envelope: magic (8), u32 version, u32 length, then `length` bytes of JSON.
inline constexpr std::size_t kMessageEnvelope = 16;
// No control message is larger: bounds what a garbage peer makes us buffer.
inline constexpr std::uint32_t kMaxMessage = 64 * 1024;

// The producer's first message.
struct Hello {
  std::string producer;  // the program: "trace_task", "bts_extract"
  std::string name;      // the log's file name on the producer's side (a hint for the consumer)
  std::uint64_t pid = 0;
  std::uint32_t log_format_version = 0;  // the .xtl format version it sends (kFormatVersion)
};
// The consumer's answer to a hello.
struct Answer {
  bool accept = false;
  std::string reason;  // why it refused (one line)
};
// The consumer's last message, after the producer shut its side down.
struct Receipt {
  bool saved = false;     // it kept the bytes (complete or not)
  bool complete = false;  // ... and they were a complete log (End trailer, verified)
  std::uint64_t bytes = 0;
  std::string file;    // where it kept them, as the consumer names it
  std::string reason;  // what went wrong, if anything (one line)
};

// One control message (envelope and JSON), as sent.
std::string encode_hello(const Hello& h);
std::string encode_answer(const Answer& a);
std::string encode_receipt(const Receipt& r);

// Reads one control message from bytes as they arrive. Errors are BadInput
// naming `peer`: not our magic ("not an xtl stream"), a length over
// kMaxMessage, JSON that is not an object of the expected type, another
// protocol version (checked once the whole message is in, so the reason
// a peer of another version sends can still be quoted).
class MessageReader {
 public:
  explicit MessageReader(std::string peer) : peer_(std::move(peer)) {}
  // Takes bytes from [p, p+n) until the message is whole; returns how many
  // it took (the rest belongs to what follows). Checks the magic and the
  // length as soon as they are in.
  std::size_t feed(const void* p, std::size_t n);
  bool done() const { return done_; }
  // The sender's protocol version (once done()).
  std::uint32_t version() const { return version_; }
  // The message, decoded (once done()); throws BadInput as above.
  Hello hello() const;
  Answer answer() const;
  Receipt receipt() const;

 private:
  std::string peer_, buf_;
  std::uint32_t version_ = 0, length_ = 0;
  bool done_ = false;
};

// Checks the log bytes of a stream as they arrive, whole frames at a time:
// the prefix, then frames (header CRC, type, length, frame CRC), the End
// frame last. Errors are BadInput naming `what` and the byte offset in the
// log, as LogReader's are.
class FrameScanner {
 public:
  explicit FrameScanner(std::string what) : what_(std::move(what)) {}
  // [p, p+n) are the stream's bytes from offset(): returns how many of them
  // (from the front) are the prefix and whole frames, and moves offset()
  // past them. The rest is an unfinished frame: give it again with more.
  std::size_t scan(const void* p, std::size_t n);
  // Bytes accepted so far.
  std::uint64_t offset() const { return offset_; }
  // The End frame was accepted: the log is complete and nothing may follow.
  bool ended() const { return ended_; }

 private:
  std::string what_;
  std::uint64_t offset_ = 0;
  bool ended_ = false;
};

// "unix:PATH" -> PATH; BadInput naming `option` for anything else.
std::filesystem::path parse_stream_address(const std::string& option, const std::string& spec);

// The producer's side: connects to a consumer, says hello, then sends a
// trace log's whole frames from a file as a writer appends to them (a
// thread tails the file), and reads the receipt at the end. The local file
// is never touched. A consumer that goes away stops only the sending:
// finish() says so.
class StreamSender {
 public:
  // Connects to the consumer listening at `socket` (no retry: nobody there
  // is an error at once) and does the handshake, waiting at most `timeout`
  // for the answer. Throws Runtime when nobody listens, it refuses (its
  // reason quoted) or it does not answer; BadInput for a path too long.
  StreamSender(const std::filesystem::path& socket, const Hello& hello,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~StreamSender();  // stops the follower (the consumer sees a cut stream); never throws
  StreamSender(const StreamSender&) = delete;
  StreamSender& operator=(const StreamSender&) = delete;

  // Starts sending the log at `log` in the background: the prefix and each
  // frame once it is whole in the file (until then, the file is polled
  // every 20 ms; it need not exist yet). Stops after the End frame.
  void follow(const std::filesystem::path& log);

  struct Result {
    std::string address;     // "unix:PATH"
    std::uint64_t sent = 0;  // log bytes the consumer received (whole frames)
    bool ended = false;      // the End frame was among them
    std::string error;       // the sending failed (the consumer went away, the log is damaged): one line
    bool log_damaged = false;  // error: a frame of the log failed its checks (bad input, not the consumer)
    Receipt receipt;         // the consumer's receipt (when error is empty)

    // Throws (one line, ending with `local_note`; BadInput when the log is
    // damaged, else Runtime) unless the consumer kept what was sent: a
    // complete log when the End frame was sent, at least the bytes sent
    // otherwise.
    void throw_if_failed(const std::string& local_note) const;
    // "sent N bytes to unix:PATH; the consumer saved them as FILE".
    std::string summary() const;
  };
  // The writer is done (closed the log or gave up): sends what whole frames
  // are left, shuts the sending side down, waits at most `timeout` for the
  // receipt. Never throws for the consumer's failures (Result::error); may
  // throw Interrupted while waiting (xentt/base/interrupt.h).
  Result finish(std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xentt::xtl
