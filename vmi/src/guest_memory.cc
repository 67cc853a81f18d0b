#include "xentt/vmi/guest_memory.h"

#include "xentt/base/le_bytes.h"

namespace xentt::vmi {

void GuestMemory::read_many(std::span<const Piece> pieces) const {
  for (const Piece& p : pieces) read(p.addr, p.out);
}

std::uint64_t GuestMemory::read_u64(std::uint64_t addr) const {
  unsigned char b[8];
  read(addr, std::as_writable_bytes(std::span(b)));
  return le::get_u64(b);
}

std::uint32_t GuestMemory::read_u32(std::uint64_t addr) const {
  unsigned char b[4];
  read(addr, std::as_writable_bytes(std::span(b)));
  return le::get_u32(b);
}

std::string GuestMemory::read_bytes(std::uint64_t addr, std::size_t len) const {
  std::string s(len, '\0');
  read(addr, std::as_writable_bytes(std::span(s.data(), s.size())));
  return s;
}

}  // namespace xentt::vmi
