// xentt/vmi/page_walk.h: x86 paging, walked by us over guest-physical
// memory: the guest-virtual address space of one CR3, as the CPU would
// translate it (Intel SDM vol. 3, chapter 4).
//
// The guest owns the tables, so they are hostile input: a walk reads at
// most one entry per level (2 to 5), allocates nothing that grows with
// what it reads, and an entry pointing outside RAM is a BadInput naming
// the address, never a crash.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "xentt/vm/registers.h"
#include "xentt/vmi/guest_memory.h"

namespace xentt::vmi {

enum class PagingMode {
  Off,       // CR0.PG = 0: virtual = physical (32-bit addresses)
  Legacy32,  // 32-bit paging: 2 levels of 4-byte entries, 4 MiB pages with CR4.PSE
  Pae,       // PAE: 4 PDPTEs, then 2 levels of 8-byte entries, 2 MiB pages
  Long4,     // IA-32e 4-level: 48-bit addresses, 1 GiB and 2 MiB pages
  Long5,     // IA-32e 5-level (CR4.LA57): 57-bit addresses
};
// "off", "32-bit", "PAE", "4-level", "5-level": for messages.
const char* paging_mode_name(PagingMode m) noexcept;

// The mode the vCPU's registers select: CR0.PG, then CR4.PAE, EFER.LMA,
// CR4.LA57. Throws Runtime naming the first register it needs that the
// engine did not read.
PagingMode paging_mode(const Registers& regs);

// Everything a walk needs besides memory.
struct Paging {
  PagingMode mode = PagingMode::Off;
  std::uint64_t cr3 = 0;  // the table root; PCID and flag bits are masked off
  bool nxe = false;       // EFER.NXE: bit 63 of PAE/IA-32e entries forbids execution
  bool pse = true;        // CR4.PSE: the PS bit of a 32-bit PDE makes a 4 MiB page
};
// The vCPU's: paging_mode(regs), CR3, EFER.NXE, CR4.PSE. Throws Runtime
// naming a register it needs that is absent.
Paging paging_of(const Registers& regs);

// Levels of a walk, named by the entry read there: 5 PML5E, 4 PML4E,
// 3 PDPTE, 2 PDE, 1 PTE (32-bit paging uses 2 and 1, PAE 3 to 1).
const char* entry_name(int level) noexcept;

// One translated address and the page it lies in.
struct PageMapping {
  std::uint64_t vaddr = 0;      // the address translated
  std::uint64_t paddr = 0;      // what it translates to
  std::uint64_t page_size = 0;  // 4 KiB, 2 MiB, 4 MiB or 1 GiB (4 KiB with paging off)
  // The access rights of the page, combined over the levels as the CPU
  // does: writable and user only if every level allows, nx if any level
  // forbids execution (only with EFER.NXE), global from the leaf.
  // With paging off: writable, user, not nx, not global.
  bool writable = false, user = false, nx = false, global = false;
  // (level, raw entry) of every entry read, the root's first: what
  // `tt_vmi translate` shows.
  std::vector<std::pair<int, std::uint64_t>> entries;

  std::uint64_t page_vaddr() const { return vaddr & ~(page_size - 1); }
  std::uint64_t page_paddr() const { return paddr & ~(page_size - 1); }
};

// Why a walk found no page.
struct WalkFault {
  enum class Why { NotPresent, NotCanonical } why = Why::NotPresent;
  int level = 0;                 // NotPresent: the level whose entry is not present
  std::uint64_t entry = 0;       // that entry, raw
  std::uint64_t entry_addr = 0;  // its guest-physical address
  // "not mapped (PDE 0x0 at guest-physical 0x2008 is not present)",
  // "not canonical" (IA-32e), "not a 32-bit address" (the other modes).
  std::string describe(PagingMode mode) const;
};

// One walk of the tables, no cache: the mapping of `vaddr`, or the fault
// in `*fault` (when given) and nullopt. Cost: one read of `phys` per level
// (2 to 5 reads of 4 or 8 bytes; with MappedRam some tens of ns each).
// Throws BadInput "guest-virtual address 0x..: its PDE at guest-physical
// 0x.. cannot be read (...)" when an entry lies outside RAM, Runtime when
// `phys` cannot be read at all.
std::optional<PageMapping> walk(const GuestMemory& phys, const Paging& paging, std::uint64_t vaddr,
                                WalkFault* fault = nullptr);

// The guest-virtual memory of one CR3 over guest-physical memory `phys`
// (which must outlive it), with a small translation cache.
//
// The cache is only right while the guest is stopped: callers call
// drop_cache() whenever the guest has run (resume, step, seek, a replay
// moving on) or its tables may have been written. Without that, translate()
// and read() keep answering with the old mappings (the bytes read are
// always today's: only translations are cached). Not thread-safe (the
// cache changes in const calls).
class AddressSpace final : public GuestMemory {
 public:
  AddressSpace(const GuestMemory& phys, const Paging& paging) : phys_(&phys), paging_(paging) {}
  // With CR4.PSE taken as set (32-bit paging's 4 MiB pages honoured).
  AddressSpace(const GuestMemory& phys, PagingMode mode, std::uint64_t cr3, bool nxe = false)
      : AddressSpace(phys, Paging{mode, cr3, nxe, true}) {}
  // The vCPU's address space (paging_of(regs)); throws what paging_of throws.
  AddressSpace(const GuestMemory& phys, const Registers& regs) : AddressSpace(phys, paging_of(regs)) {}

  // The mapping of `vaddr`, or nullopt with the fault in `*fault`. Cost: a
  // cache hit is an array index and a compare, plus the copy of the
  // mapping's entry list (one small allocation); a miss is a walk (above).
  // Only present pages are cached. Throws what walk() throws.
  std::optional<PageMapping> translate(std::uint64_t vaddr, WalkFault* fault = nullptr) const;

  // The bytes at guest-virtual `addr`, across pages. Throws BadInput
  // "guest-virtual address 0x..: not mapped (PTE 0x.. at guest-physical
  // 0x.. is not present) (reading N bytes at 0x..)" naming the first
  // address that fails, "...: not canonical (...)", or the physical read's
  // error with the virtual address in front. Cost: a translate (cached)
  // and a physical read per page touched.
  void read(std::uint64_t addr, std::span<std::byte> out) const override;
  std::string kind() const override { return "guest-virtual"; }

  // Forgets every cached translation. Cost: clearing 256 tags.
  void drop_cache() const;
  const Paging& paging() const { return paging_; }

 private:
  // The cached or freshly walked mapping of the 4 KiB piece `vaddr` lies
  // in (vaddr/paddr of the piece's first byte), nullptr with `*fault`
  // filled when not mapped. Valid until the next call.
  const PageMapping* lookup(std::uint64_t vaddr, WalkFault* fault) const;

  // Direct-mapped by 4 KiB virtual page number: bounded whatever is read,
  // and a hit costs no hashing. A page of 2 MiB or more takes one slot per
  // 4 KiB piece used.
  static constexpr std::size_t kSlots = 256;
  struct Slot {
    bool valid = false;
    std::uint64_t vpage = 0;  // vaddr >> 12
    PageMapping mapping;      // of the 4 KiB piece's first byte
  };
  const GuestMemory* phys_;
  Paging paging_;
  mutable std::array<Slot, kSlots> cache_{};
};

}  // namespace xentt::vmi
