// xentt/base/le_bytes.h: little-endian loads and stores and zlib's CRC-32,
// for the on-disk formats libxentt writes (the trace log, the recording
// log's checksums).
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace xentt::le {

// The machines we run on are little-endian, so these compile to plain
// moves; memcpy keeps unaligned access defined.
inline void put_u16(unsigned char* p, std::uint16_t v) { std::memcpy(p, &v, 2); }
inline void put_u32(unsigned char* p, std::uint32_t v) { std::memcpy(p, &v, 4); }
inline void put_u64(unsigned char* p, std::uint64_t v) { std::memcpy(p, &v, 8); }
inline std::uint16_t get_u16(const unsigned char* p) { std::uint16_t v; std::memcpy(&v, p, 2); return v; }
inline std::uint32_t get_u32(const unsigned char* p) { std::uint32_t v; std::memcpy(&v, p, 4); return v; }
inline std::uint64_t get_u64(const unsigned char* p) { std::uint64_t v; std::memcpy(&v, p, 8); return v; }
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "xentt's file I/O assumes a little-endian host");

inline std::uint32_t crc32_of(std::uint32_t crc, const void* p, std::size_t n) {
  // zlib's crc32 (slice-by-8, a few GB/s) takes uInt lengths; every caller
  // sums less than 4 GiB at once.
  return static_cast<std::uint32_t>(::crc32(crc, static_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

}  // namespace xentt::le
