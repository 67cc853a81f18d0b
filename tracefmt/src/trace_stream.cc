// The trace stream's messages and the checker of the log bytes it carries
// (docs/trace-stream.md): both sides of the wire format in one place.
#include <cstring>
#include <nlohmann/json.hpp>

#include "trace_log_format.h"
#include "xentt/base/error.h"
#include "xentt/base/json_int.h"
#include "xentt/tracefmt/trace_log.h"
#include "xentt/tracefmt/trace_stream.h"

namespace xentt::xtl {

namespace {

// The log's signature with S for stream: the same guards against 7-bit
// channels and newline conversion, and no log is mistaken for a message.
constexpr char kMessageMagic[8] = {'\x89', 'X', 'T', 'S', '\r', '\n', '\x1a', '\n'};

std::string envelope(const nlohmann::json& j) {
  std::string body = j.dump();
  std::string out(kMessageEnvelope, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  std::memcpy(p, kMessageMagic, 8);
  fmt::put_u32(p + 8, kStreamVersion);
  fmt::put_u32(p + 12, static_cast<std::uint32_t>(body.size()));
  return out + body;
}

std::string str_of(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_string()) throw bad_input(std::string("'") + key + "' is not a string");
  return it->get<std::string>();
}
template <class T = std::uint64_t>
T num_of(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  return json_int<T>(*it, key);
}
bool bool_of(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (!it->is_boolean()) throw bad_input(std::string("'") + key + "' is not true or false");
  return it->get<bool>();
}

}  // namespace

std::string encode_hello(const Hello& h) {
  return envelope({{"type", "hello"},
                   {"producer", h.producer},
                   {"name", h.name},
                   {"pid", h.pid},
                   {"log_format_version", h.log_format_version}});
}

std::string encode_answer(const Answer& a) {
  nlohmann::json j{{"type", a.accept ? "accept" : "refuse"}};
  if (!a.accept) j["reason"] = a.reason;
  return envelope(j);
}

std::string encode_receipt(const Receipt& r) {
  nlohmann::json j{{"type", "receipt"}, {"saved", r.saved}, {"complete", r.complete}, {"bytes", r.bytes}};
  if (!r.file.empty()) j["file"] = r.file;
  if (!r.reason.empty()) j["reason"] = r.reason;
  return envelope(j);
}

std::size_t MessageReader::feed(const void* p, std::size_t n) {
  const char* b = static_cast<const char*>(p);
  std::size_t took = 0;
  while (!done_ && took < n) {
    std::size_t want = buf_.size() < kMessageEnvelope ? kMessageEnvelope - buf_.size()
                                                      : kMessageEnvelope + length_ - buf_.size();
    std::size_t k = std::min(want, n - took);
    std::size_t had = buf_.size();
    buf_.append(b + took, k);
    took += k;
    if (had < 8) {
      std::size_t m = std::min<std::size_t>(buf_.size(), 8);
      if (std::memcmp(buf_.data(), kMessageMagic, m) != 0)
        throw bad_input(peer_ + ": not an xtl stream (its first bytes are not the stream's magic; "
                        "docs/trace-stream.md)");
    }
    if (had < kMessageEnvelope && buf_.size() == kMessageEnvelope) {
      auto* u = reinterpret_cast<const unsigned char*>(buf_.data());
      version_ = fmt::get_u32(u + 8);
      length_ = fmt::get_u32(u + 12);
      if (length_ > kMaxMessage)
        throw bad_input(peer_ + ": control message of " + std::to_string(length_) + " bytes (at most " +
                        std::to_string(kMaxMessage) + ")");
    }
    if (buf_.size() == kMessageEnvelope + length_) done_ = true;
  }
  return took;
}

namespace {
// The JSON object of a whole message of type `type` (or one of `alt`).
nlohmann::json body_of(const std::string& peer, const std::string& buf, std::uint32_t version, const char* type,
                       const char* alt = nullptr) {
  nlohmann::json j = nlohmann::json::parse(buf.substr(kMessageEnvelope), nullptr, false);
  if (version != kStreamVersion) {
    std::string said;
    if (!j.is_discarded() && j.is_object() && j.contains("reason") && j["reason"].is_string())
      said = " (it says: " + j["reason"].get<std::string>() + ")";
    throw bad_input(peer + ": speaks trace stream protocol version " + std::to_string(version) + ", this one " +
                    std::to_string(kStreamVersion) + said + "; use producer and consumer of one xentt");
  }
  if (j.is_discarded() || !j.is_object()) throw bad_input(peer + ": control message is not a JSON object");
  std::string t = j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "";
  if (t != type && (!alt || t != alt))
    throw bad_input(peer + ": expected a '" + type + "' message, got '" + excerpt(t, 40) + "'");
  return j;
}
template <class F>
auto decoding(const std::string& peer, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    if (std::string(e.what()).starts_with(peer)) throw;
    throw bad_input(peer + ": control message: " + e.what());
  }
}
}  // namespace

Hello MessageReader::hello() const {
  return decoding(peer_, [&] {
    auto j = body_of(peer_, buf_, version_, "hello");
    Hello h;
    h.producer = str_of(j, "producer");
    h.name = str_of(j, "name");
    h.pid = num_of(j, "pid");
    h.log_format_version = num_of<std::uint32_t>(j, "log_format_version");
    return h;
  });
}

Answer MessageReader::answer() const {
  return decoding(peer_, [&] {
    auto j = body_of(peer_, buf_, version_, "accept", "refuse");
    return Answer{j["type"] == "accept", str_of(j, "reason")};
  });
}

Receipt MessageReader::receipt() const {
  return decoding(peer_, [&] {
    auto j = body_of(peer_, buf_, version_, "receipt");
    return Receipt{bool_of(j, "saved"), bool_of(j, "complete"), num_of(j, "bytes"), str_of(j, "file"),
                   str_of(j, "reason")};
  });
}

std::size_t FrameScanner::scan(const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  auto fail = [&](std::uint64_t at, const std::string& why) {
    throw bad_input(what_ + ": offset " + std::to_string(at) + ": " + why);
  };
  std::size_t used = 0;
  if (offset_ == 0) {
    if (std::memcmp(b, fmt::kSignature, std::min<std::size_t>(n, 8)) != 0)
      fail(0, "not a trace log (bad signature)");
    if (n < fmt::kPrefixSize) return 0;
    if (std::uint32_t v = fmt::get_u32(b + 8); v != kFormatVersion)
      fail(8, "trace log format version " + std::to_string(v) + " is not supported (this reader reads version " +
                  std::to_string(kFormatVersion) + ")");
    if (fmt::get_u32(b + 12) != 0) fail(12, "reserved prefix field is not 0");
    used = offset_ = fmt::kPrefixSize;
  }
  while (used < n) {
    if (ended_) fail(offset_, "bytes after the End frame");
    if (n - used < fmt::kFrameHeaderSize) break;
    const unsigned char* h = b + used;
    if (!fmt::header_crc_ok(h)) fail(offset_, "damaged frame header (CRC mismatch)");
    fmt::FrameHeader fh = fmt::decode_frame_header(h);
    bool first = offset_ == fmt::kPrefixSize;
    if (fh.type < 1 || fh.type > static_cast<std::uint8_t>(FrameType::End))
      fail(offset_, "unknown frame type " + std::to_string(fh.type));
    if (first != (fh.type == static_cast<std::uint8_t>(FrameType::Header)))
      fail(offset_, first ? "the first frame is not the Header frame" : "a second Header frame");
    if (fh.length > fmt::kMaxPayload) fail(offset_, "frame of " + std::to_string(fh.length) + " bytes");
    if (n - used - fmt::kFrameHeaderSize < fh.length) break;
    if (!fmt::frame_crc_ok(h, h + fmt::kFrameHeaderSize, fh.length)) fail(offset_, "damaged frame (CRC mismatch)");
    if (fh.type == static_cast<std::uint8_t>(FrameType::End)) {
      if (fh.length != fmt::kEndPayloadSize ||
          std::memcmp(h + fmt::kFrameHeaderSize + 8, fmt::kEndMagic, sizeof fmt::kEndMagic) != 0)
        fail(offset_, "damaged End frame");
      ended_ = true;
    }
    used += fmt::kFrameHeaderSize + fh.length;
    offset_ += fmt::kFrameHeaderSize + fh.length;
  }
  return used;
}

std::filesystem::path parse_stream_address(const std::string& option, const std::string& spec) {
  if (!spec.starts_with("unix:") || spec.size() == 5)
    throw bad_input(option + " " + spec + ": want unix:PATH (a unix socket a consumer listens at)");
  return spec.substr(5);
}

}  // namespace xentt::xtl
