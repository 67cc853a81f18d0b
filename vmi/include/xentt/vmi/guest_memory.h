// xentt/vmi/guest_memory.h: guest memory as VMI reads it. Guest-physical
// memory (RAM, as the engine keeps it) and a guest-virtual address space
// (one CR3's page tables over that RAM) share one small interface, so
// typed reads and OS views run over either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace xentt::vmi {

// Bytes of the guest at addresses of one kind (physical or virtual).
class GuestMemory {
 public:
  virtual ~GuestMemory() = default;
  // Fills `out` with the bytes at `addr`. Throws BadInput naming the first
  // address that cannot be read (outside RAM, not mapped, not canonical)
  // and what was asked ("reading N bytes at 0x.."); Runtime when the
  // engine's memory cannot be read at all.
  virtual void read(std::uint64_t addr, std::span<std::byte> out) const = 0;
  // A batch of reads: each piece's bytes at its address. This default
  // reads piece after piece (what costs nothing for RAM mapped into this
  // process); a memory behind a socket or a hypercall overrides it to ask
  // once. Throws what read() throws for the first piece that fails (the
  // pieces before it are filled, the rest unspecified).
  struct Piece {
    std::uint64_t addr = 0;
    std::span<std::byte> out;
  };
  virtual void read_many(std::span<const Piece> pieces) const;

  // "guest-physical" or "guest-virtual": for messages.
  virtual std::string kind() const = 0;

  // Little-endian integers and byte strings (x86): helpers over read().
  std::uint64_t read_u64(std::uint64_t addr) const;
  std::uint32_t read_u32(std::uint64_t addr) const;
  std::string read_bytes(std::uint64_t addr, std::size_t len) const;
};

}  // namespace xentt::vmi
