#include "xentt/debug/rsp.h"

#include <fmt/format.h>

#include "xentt/base/printable.h"

namespace xentt::debug {

namespace {

// Undoes '}' escapes (the next byte XOR 0x20) and '*' run lengths (the
// byte before repeated N - 29 more times, N printable). Nothing when
// either is cut off or makes the payload exceed kMaxPacket.
std::optional<std::string> unescape(std::string_view raw, std::string& why) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); i++) {
    char c = raw[i];
    if (c == '}') {
      if (++i == raw.size()) {
        why = "an escape '}' ends the packet";
        return std::nullopt;
      }
      out += char(raw[i] ^ 0x20);
    } else if (c == '*') {
      if (out.empty() || ++i == raw.size()) {
        why = "a run length '*' without a byte before or a count after it";
        return std::nullopt;
      }
      int n = static_cast<unsigned char>(raw[i]) - 29;
      if (n < 3) {  // gdb never sends fewer: a count below '!' + 3 is noise
        why = fmt::format("a run length '*' with count byte {:#04x}", static_cast<unsigned char>(raw[i]));
        return std::nullopt;
      }
      if (out.size() + std::size_t(n) > kMaxPacket) {
        why = "a run length makes the packet longer than " + std::to_string(kMaxPacket) + " bytes";
        return std::nullopt;
      }
      out.append(std::size_t(n), out.back());
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

std::optional<RspEvent> RspReader::next() {
  for (;;) {
    if (pos_ > 4096 && pos_ * 2 > buffer_.size()) {  // drop what was consumed, now and then
      buffer_.erase(0, pos_);
      pos_ = 0;
    }
    if (pos_ == buffer_.size()) return std::nullopt;
    if (skipping_) {
      std::size_t hash = buffer_.find('#', pos_);
      if (hash == std::string::npos) {
        skipped_ += buffer_.size() - pos_;
        pos_ = buffer_.size();
        return std::nullopt;
      }
      if (buffer_.size() < hash + 3) return std::nullopt;
      skipped_ += hash - pos_;
      pos_ = hash + 3;
      skipping_ = false;
      return RspEvent{RspEvent::Bad, fmt::format("a packet of {} bytes, over the limit of {}", skipped_, kMaxPacket)};
    }
    char c = buffer_[pos_];
    if (c == '+' || c == '-' || c == '\x03') {
      pos_++;
      return RspEvent{c == '+' ? RspEvent::Ack : c == '-' ? RspEvent::Nak : RspEvent::Interrupt, {}};
    }
    if (c != '$') {
      pos_++;  // line noise
      continue;
    }
    // A packet: its payload may hold no '$' or '#' (those are escaped).
    std::size_t end = buffer_.find_first_of("#$", pos_ + 1);
    if (end == std::string::npos) {
      if (buffer_.size() - pos_ > kMaxPacket + 1) {  // still no end in sight: skip to its '#'
        skipped_ = buffer_.size() - pos_ - 1;
        pos_ = buffer_.size();
        skipping_ = true;
      }
      return std::nullopt;
    }
    if (buffer_[end] == '$') {  // a packet cut off by another
      std::string cut = printable(std::string_view(buffer_).substr(pos_, std::min<std::size_t>(end - pos_, 40)));
      pos_ = end;
      return RspEvent{RspEvent::Bad, "a packet cut off by the next '$': " + cut};
    }
    if (buffer_.size() < end + 3) return std::nullopt;  // its checksum has not come yet
    std::string_view raw(buffer_.data() + pos_ + 1, end - pos_ - 1);
    int hi = hex_digit(buffer_[end + 1]), lo = hex_digit(buffer_[end + 2]);
    pos_ = end + 3;
    if (raw.size() > kMaxPacket) {
      return RspEvent{RspEvent::Bad, fmt::format("a packet of {} bytes, over the limit of {}", raw.size(), kMaxPacket)};
    }
    if (hi < 0 || lo < 0) return RspEvent{RspEvent::Bad, "a packet whose checksum is not two hex digits"};
    unsigned sum = 0;
    for (unsigned char b : raw) sum += b;
    if ((sum & 0xff) != unsigned(hi << 4 | lo)) {
      return RspEvent{RspEvent::Bad, fmt::format("a packet with checksum {:02x}, its bytes sum to {:02x}", hi << 4 | lo,
                                                 sum & 0xff)};
    }
    std::string why;
    auto payload = unescape(raw, why);
    if (!payload) return RspEvent{RspEvent::Bad, why};
    return RspEvent{RspEvent::Packet, std::move(*payload)};
  }
}

std::string rsp_frame(std::string_view payload) {
  std::string out = "$";
  unsigned sum = 0;
  for (char c : payload) {
    if (c == '$' || c == '#' || c == '}' || c == '*') {
      out += '}';
      sum += '}';
      c = char(c ^ 0x20);
    }
    out += c;
    sum += static_cast<unsigned char>(c);
  }
  return out + fmt::format("#{:02x}", sum & 0xff);
}

std::optional<std::uint64_t> parse_hex_u64(std::string_view hex) {
  if (hex.empty() || hex.size() > 16) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : hex) {
    int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    v = v << 4 | std::uint64_t(d);
  }
  return v;
}

}  // namespace xentt::debug
