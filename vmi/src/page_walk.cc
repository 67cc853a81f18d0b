// The walk itself: one entry per level, from CR3 down to the leaf, as the
// Intel SDM (vol. 3, 4.3 to 4.5) describes it. Reserved bits are not
// checked (a CPU would fault; we translate as if they were clear).
#include "xentt/vmi/page_walk.h"

#include <fmt/format.h>

#include "xentt/base/error.h"

namespace xentt::vmi {

namespace {

constexpr std::uint64_t kPresent = 1u << 0, kWritable = 1u << 1, kUser = 1u << 2, kPageSize = 1u << 7,
                        kGlobal = 1u << 8;
constexpr std::uint64_t kNoExecute = std::uint64_t{1} << 63;
constexpr std::uint64_t kAddrBits = 0x000ffffffffff000;  // bits 51:12 of PAE and IA-32e entries

bool long_mode(PagingMode m) { return m == PagingMode::Long4 || m == PagingMode::Long5; }

bool canonical(std::uint64_t vaddr, unsigned bits) {
  unsigned shift = 64 - bits;
  return static_cast<std::uint64_t>(static_cast<std::int64_t>(vaddr << shift) >> shift) == vaddr;
}

// One walk's state: what it read so far and the rights accumulated.
class Walker {
 public:
  Walker(const GuestMemory& phys, const Paging& paging, std::uint64_t vaddr, WalkFault* fault)
      : phys_(phys), paging_(paging), vaddr_(vaddr), fault_(fault) {
    m_.vaddr = vaddr;
    m_.writable = m_.user = true;
  }

  std::optional<PageMapping> run() {
    switch (paging_.mode) {
      case PagingMode::Off:
        if (vaddr_ > 0xffffffff) return not_canonical();
        return leaf(vaddr_ & ~std::uint64_t{0xfff}, 0x1000, 0);
      case PagingMode::Legacy32:
        if (vaddr_ > 0xffffffff) return not_canonical();
        return legacy32();
      case PagingMode::Pae:
        if (vaddr_ > 0xffffffff) return not_canonical();
        return wide(3, paging_.cr3 & 0xffffffe0);
      case PagingMode::Long4:
        if (!canonical(vaddr_, 48)) return not_canonical();
        return wide(4, paging_.cr3 & kAddrBits);
      case PagingMode::Long5:
        if (!canonical(vaddr_, 57)) return not_canonical();
        return wide(5, paging_.cr3 & kAddrBits);
    }
    return not_canonical();  // not reached: every mode is handled above
  }

 private:
  // PAE and IA-32e: 8-byte entries, 9 address bits a level (PAE's top
  // level, the 4 PDPTEs, takes 2). Bounded: `top` levels at most.
  std::optional<PageMapping> wide(int top, std::uint64_t table) {
    bool pae = paging_.mode == PagingMode::Pae;
    for (int level = top; level >= 1; --level) {
      unsigned shift = 12 + 9 * static_cast<unsigned>(level - 1);
      std::uint64_t index = (vaddr_ >> shift) & (pae && level == 3 ? 0x3 : 0x1ff);
      std::uint64_t at = table + index * 8;
      std::uint64_t e = entry(level, at, 8);
      if (!(e & kPresent)) return not_present(level, e, at);
      if (!(pae && level == 3)) {  // a PAE PDPTE has no rights bits
        m_.writable = m_.writable && (e & kWritable);
        m_.user = m_.user && (e & kUser);
        if (paging_.nxe && (e & kNoExecute)) m_.nx = true;
      }
      // PS makes a leaf of a PDE (2 MiB) or an IA-32e PDPTE (1 GiB).
      bool large = (e & kPageSize) && (level == 2 || (level == 3 && !pae));
      if (level == 1 || large) {
        std::uint64_t size = std::uint64_t{1} << shift;
        return leaf(e & kAddrBits & ~(size - 1), size, e);
      }
      table = e & kAddrBits;
    }
    return std::nullopt;  // not reached: level 1 is always a leaf
  }

  // 32-bit paging: 4-byte entries, a PDE of 10 bits, a PTE of 10 bits; a
  // PDE with PS (and CR4.PSE) maps 4 MiB, PSE-36 giving address bits 39:32
  // in its bits 20:13.
  std::optional<PageMapping> legacy32() {
    std::uint64_t at = (paging_.cr3 & 0xfffff000) + ((vaddr_ >> 22) & 0x3ff) * 4;
    std::uint64_t pde = entry(2, at, 4);
    if (!(pde & kPresent)) return not_present(2, pde, at);
    m_.writable = pde & kWritable;
    m_.user = pde & kUser;
    if ((pde & kPageSize) && paging_.pse)
      return leaf((pde & 0xffc00000) | ((pde >> 13 & 0xff) << 32), std::uint64_t{4} << 20, pde);
    at = (pde & 0xfffff000) + ((vaddr_ >> 12) & 0x3ff) * 4;
    std::uint64_t pte = entry(1, at, 4);
    if (!(pte & kPresent)) return not_present(1, pte, at);
    m_.writable = m_.writable && (pte & kWritable);
    m_.user = m_.user && (pte & kUser);
    return leaf(pte & 0xfffff000, 0x1000, pte);
  }

  // Reads the entry of `level` at guest-physical `at`; an entry outside
  // RAM is the guest's table pointing nowhere: say which entry and where.
  std::uint64_t entry(int level, std::uint64_t at, unsigned bytes) {
    std::uint64_t e = 0;
    try {
      e = bytes == 8 ? phys_.read_u64(at) : phys_.read_u32(at);
    } catch (const Error& err) {
      throw Error(err.kind(), fmt::format("guest-virtual address {:#x}: its {} at guest-physical {:#x} cannot be read ({})",
                                          vaddr_, entry_name(level), at, err.what()));
    }
    m_.entries.emplace_back(level, e);
    return e;
  }

  PageMapping leaf(std::uint64_t page, std::uint64_t size, std::uint64_t e) {
    m_.page_size = size;
    m_.paddr = page + (vaddr_ & (size - 1));
    m_.global = paging_.mode != PagingMode::Off && (e & kGlobal);
    return std::move(m_);
  }
  std::optional<PageMapping> not_present(int level, std::uint64_t e, std::uint64_t at) {
    if (fault_) *fault_ = WalkFault{WalkFault::Why::NotPresent, level, e, at};
    return std::nullopt;
  }
  std::optional<PageMapping> not_canonical() {
    if (fault_) *fault_ = WalkFault{WalkFault::Why::NotCanonical, 0, 0, 0};
    return std::nullopt;
  }

  const GuestMemory& phys_;
  const Paging& paging_;
  std::uint64_t vaddr_;
  WalkFault* fault_;
  PageMapping m_;
};

std::uint64_t need(const Registers& regs, Reg r) {
  auto v = regs.get(r);
  if (!v) throw runtime_error(fmt::format("register {} was not read from the target: cannot tell the paging mode", reg_name(r)));
  return *v;
}

}  // namespace

const char* paging_mode_name(PagingMode m) noexcept {
  switch (m) {
    case PagingMode::Off: return "off";
    case PagingMode::Legacy32: return "32-bit";
    case PagingMode::Pae: return "PAE";
    case PagingMode::Long4: return "4-level";
    case PagingMode::Long5: return "5-level";
  }
  return "?";
}

const char* entry_name(int level) noexcept {
  static constexpr const char* names[] = {"?", "PTE", "PDE", "PDPTE", "PML4E", "PML5E"};
  return level >= 1 && level <= 5 ? names[level] : names[0];
}

PagingMode paging_mode(const Registers& regs) {
  if (!(need(regs, Reg::cr0) >> 31 & 1)) return PagingMode::Off;  // CR0.PG
  std::uint64_t cr4 = need(regs, Reg::cr4);
  if (!(cr4 >> 5 & 1)) return PagingMode::Legacy32;              // CR4.PAE
  if (!(need(regs, Reg::efer) >> 10 & 1)) return PagingMode::Pae;  // EFER.LMA
  return cr4 >> 12 & 1 ? PagingMode::Long5 : PagingMode::Long4;   // CR4.LA57
}

Paging paging_of(const Registers& regs) {
  Paging p;
  p.mode = paging_mode(regs);
  if (p.mode == PagingMode::Off) return p;
  p.cr3 = need(regs, Reg::cr3);
  p.pse = need(regs, Reg::cr4) >> 4 & 1;
  if (p.mode != PagingMode::Legacy32) p.nxe = need(regs, Reg::efer) >> 11 & 1;
  return p;
}

std::string WalkFault::describe(PagingMode mode) const {
  if (why == Why::NotCanonical) return long_mode(mode) ? "not canonical" : "not a 32-bit address";
  return fmt::format("not mapped ({} {:#x} at guest-physical {:#x} is not present)", entry_name(level), entry, entry_addr);
}

std::optional<PageMapping> walk(const GuestMemory& phys, const Paging& paging, std::uint64_t vaddr, WalkFault* fault) {
  return Walker(phys, paging, vaddr, fault).run();
}

}  // namespace xentt::vmi
