// trace_log_format.h (internal): the trace log's byte layout, shared by
// the writer and the reader so both spell it in one place. The layout is
// specified in docs/trace-log.md; every constant here is on disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "xentt/base/le_bytes.h"

namespace xentt::xtl::fmt {

// File prefix: 8-byte signature, u32 format version, u32 reserved (0).
// PNG-style signature: the high byte catches 7-bit transfers, CR LF and LF
// catch newline conversion, ^Z stops `type` on DOS.
inline constexpr char kSignature[8] = {'\x89', 'X', 'T', 'L', '\r', '\n', '\x1a', '\n'};
inline constexpr std::size_t kPrefixSize = 16;

// Frame header (16 bytes): type u8, encoding u8, vcpu u16, payload length
// u32, frame CRC u32 (over header bytes 0..8 then the payload), header CRC
// u32 (over bytes 0..12). The separate header CRC lets a reader walk frame
// headers without reading payloads, and tell a damaged length (header CRC
// fails) from a torn last frame (header fine, payload runs past the end).
inline constexpr std::size_t kFrameHeaderSize = 16;
// No frame is larger: bounds what a damaged file can make a reader allocate.
inline constexpr std::uint32_t kMaxPayload = 64u << 20;

// Payload encodings (frame header byte 1).
inline constexpr std::uint8_t kEncNone = 0;       // Header, Marker (JSON), Index, End
inline constexpr std::uint8_t kEncDelta = 1;      // Branches: delta streams, stored as is
inline constexpr std::uint8_t kEncDeltaZstd = 2;  // Branches: delta streams, one zstd frame

// Branches payload starts with this uncompressed batch header (32 bytes).
inline constexpr std::size_t kBatchHeaderSize = 32;
// The delta streams start with their three lengths (icount, from, to).
inline constexpr std::size_t kStreamsPrefix = 12;
// Most records in one Branches frame: bounds decode memory; the writer
// splits larger batches.
inline constexpr std::uint32_t kMaxBatch = 1u << 20;

// Index entry (40 bytes): offset u64, type u8, encoding u8, vcpu u16,
// stored u32, first_brctr u64, first_icount u64, count u32, reserved u32.
inline constexpr std::size_t kIndexEntrySize = 40;
// End frame payload: index offset u64, "XTLEND\0\0" (so a torn file cannot
// end in something that looks like a trailer by accident).
inline constexpr std::size_t kEndPayloadSize = 16;
inline constexpr char kEndMagic[8] = {'X', 'T', 'L', 'E', 'N', 'D', 0, 0};
inline constexpr std::size_t kEndFrameSize = kFrameHeaderSize + kEndPayloadSize;

using le::crc32_of;
using le::get_u16;
using le::get_u32;
using le::get_u64;
using le::put_u16;
using le::put_u32;
using le::put_u64;

struct FrameHeader {
  std::uint8_t type;
  std::uint8_t encoding;
  std::uint16_t vcpu;
  std::uint32_t length;
  std::uint32_t crc;
  std::uint32_t header_crc;
};

// Fills `out` (16 bytes) for a payload; the frame CRC covers bytes 0..8 and
// the payload, so a payload moved under another header is caught too.
inline void encode_frame_header(unsigned char* out, std::uint8_t type, std::uint8_t enc, std::uint16_t vcpu,
                                const void* payload, std::uint32_t len) {
  out[0] = type;
  out[1] = enc;
  put_u16(out + 2, vcpu);
  put_u32(out + 4, len);
  std::uint32_t c = crc32_of(0, out, 8);
  put_u32(out + 8, crc32_of(c, payload, len));
  put_u32(out + 12, crc32_of(0, out, 12));
}

inline FrameHeader decode_frame_header(const unsigned char* p) {
  return {p[0], p[1], get_u16(p + 2), get_u32(p + 4), get_u32(p + 8), get_u32(p + 12)};
}
inline bool header_crc_ok(const unsigned char* p) { return crc32_of(0, p, 12) == get_u32(p + 12); }
inline bool frame_crc_ok(const unsigned char* hdr, const unsigned char* payload, std::uint32_t len) {
  return crc32_of(crc32_of(0, hdr, 8), payload, len) == get_u32(hdr + 8);
}

// LEB128 varints (7 bits a byte, low first) and zigzag for signed deltas.
inline std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}
// Into a buffer with room for 10 bytes; returns the end. The writer's hot
// loop uses this on pre-sized buffers (no append per byte).
inline unsigned char* put_varint(unsigned char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return p;
}
inline void put_varint(std::string& s, std::uint64_t v) {
  unsigned char b[10];
  std::size_t n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<unsigned char>(v);
  s.append(reinterpret_cast<const char*>(b), n);
}
// Reads one varint from [p, end); returns nullptr if it runs past `end` or
// is longer than 10 bytes (damage). The one-byte case is the hot path.
inline const unsigned char* get_varint(const unsigned char* p, const unsigned char* end, std::uint64_t& v) {
  if (p < end && *p < 0x80) {
    v = *p;
    return p + 1;
  }
  std::uint64_t r = 0;
  for (unsigned shift = 0; shift < 70; shift += 7) {
    if (p == end) return nullptr;
    std::uint64_t b = *p++;
    r |= (b & 0x7f) << shift;
    if (b < 0x80) {
      v = r;
      return p;
    }
  }
  return nullptr;
}

}  // namespace xentt::xtl::fmt
