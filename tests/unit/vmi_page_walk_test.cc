// x86 page-table walks (xentt/vmi/page_walk.h) over tables built by hand
// in a fake guest RAM: every paging mode and page size, the access rights,
// reads across pages, the errors, and the translation cache's contract.
#include <catch2/catch_test_macros.hpp>

#include "unit_util.h"
#include "vmi_fake_ram.h"
#include "xentt/vmi/page_walk.h"

using namespace xentt;
using namespace xentt::test;
using namespace xentt::vmi;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

Registers regs(std::uint64_t cr0, std::uint64_t cr4, std::uint64_t efer, std::uint64_t cr3 = 0x1000) {
  Registers r;
  r.set(Reg::cr0, cr0);
  r.set(Reg::cr4, cr4);
  r.set(Reg::efer, efer);
  r.set(Reg::cr3, cr3);
  return r;
}
constexpr std::uint64_t PG = std::uint64_t{1} << 31, PE = 1;
constexpr std::uint64_t PSE = 1 << 4, PAE = 1 << 5, LA57 = 1 << 12;
constexpr std::uint64_t LME = 1 << 8, LMA = 1 << 10, NXE = 1 << 11;

}  // namespace

TEST_CASE("the paging mode comes from CR0.PG, CR4.PAE, EFER.LMA and CR4.LA57", "[vmi]") {
  CHECK(paging_mode(regs(PE, PAE, LMA)) == PagingMode::Off);
  CHECK(paging_mode(regs(PE | PG, 0, 0)) == PagingMode::Legacy32);
  CHECK(paging_mode(regs(PE | PG, PAE, LME)) == PagingMode::Pae);
  CHECK(paging_mode(regs(PE | PG, PAE, LME | LMA)) == PagingMode::Long4);
  CHECK(paging_mode(regs(PE | PG, PAE | LA57, LME | LMA)) == PagingMode::Long5);
  CHECK(std::string(paging_mode_name(PagingMode::Long5)) == "5-level");

  Paging p = paging_of(regs(PE | PG, PAE | PSE, LME | LMA | NXE, 0x1234567));
  CHECK(p.mode == PagingMode::Long4);
  CHECK(p.cr3 == 0x1234567);
  CHECK(p.nxe);
  CHECK(p.pse);
  CHECK_FALSE(paging_of(regs(PE | PG, PAE, LME | LMA)).nxe);
  CHECK_FALSE(paging_of(regs(PE | PG, 0, 0)).pse);
}

TEST_CASE("a paging mode needing a register the engine did not read is a Runtime error naming it", "[vmi]") {
  Registers r;
  r.set(Reg::cr0, PE | PG);
  CHECK(status_of([&] { (void)paging_mode(r); }) == 1);
  CHECK(has(message_of([&] { (void)paging_mode(r); }), "register cr4"));
  r.set(Reg::cr4, PAE);
  CHECK(has(message_of([&] { (void)paging_mode(r); }), "register efer"));
  r.set(Reg::efer, LMA);
  CHECK(paging_mode(r) == PagingMode::Long4);
  CHECK(has(message_of([&] { (void)paging_of(r); }), "register cr3"));
  Registers off;
  off.set(Reg::cr0, PE);
  CHECK(paging_of(off).mode == PagingMode::Off);  // paging off needs nothing more
}

TEST_CASE("4-level paging: 4 KiB pages, the entries top first, reads", "[vmi]") {
  FakeRam ram(0x40000);
  PageTables t{ram, 4, 0x1000};
  const std::uint64_t va = 0x00007f12'3456'7000;
  t.map(va, 0x30000, 1, P | W | U | G);
  ram.put_bytes(0x30abc, "hello");
  AddressSpace as(ram, PagingMode::Long4, t.root);

  auto m = as.translate(va + 0xabc);
  REQUIRE(m);
  CHECK(m->vaddr == va + 0xabc);
  CHECK(m->paddr == 0x30abc);
  CHECK(m->page_size == 0x1000);
  CHECK(m->writable);
  CHECK(m->user);
  CHECK_FALSE(m->nx);
  CHECK(m->global);
  REQUIRE(m->entries.size() == 4);
  CHECK(m->entries[0].first == 4);
  CHECK(m->entries[3].first == 1);
  CHECK(m->entries[3].second == (0x30000 | P | W | U | G));
  CHECK(as.read_bytes(va + 0xabc, 5) == "hello");
  CHECK(as.kind() == "guest-virtual");
}

TEST_CASE("4-level paging: 2 MiB and 1 GiB pages (PS), kernel addresses in the upper half", "[vmi]") {
  FakeRam ram(0x20000);
  PageTables t{ram, 4, 0x1000};
  const std::uint64_t kernel = 0xffffffff'80000000;  // PML4 index 511, PDPT 510
  t.map(kernel, 0x1'0000'0000 + 0x200000, 2);
  t.map(0x40000000, 0x2'4000'0000, 3);  // PML4 0, PDPT 1
  AddressSpace as(ram, PagingMode::Long4, t.root);

  auto big = as.translate(kernel + 0x12345);
  REQUIRE(big);
  CHECK(big->page_size == 0x200000);
  CHECK(big->paddr == 0x1'0020'0000 + 0x12345);
  CHECK(big->entries.size() == 3);
  CHECK(big->page_vaddr() == kernel);

  auto huge = as.translate(0x40000000 + 0x3456789);
  REQUIRE(huge);
  CHECK(huge->page_size == 0x40000000);
  CHECK(huge->paddr == 0x2'4000'0000 + 0x3456789);
  CHECK(huge->entries.size() == 2);
}

TEST_CASE("5-level paging (LA57): five entries, 57-bit canonical addresses", "[vmi]") {
  FakeRam ram(0x40000);
  PageTables t{ram, 5, 0x1000};
  const std::uint64_t va = 0x00ab'cdef'1234'5000;  // canonical with 57 bits, not with 48
  t.map(va, 0x30000);
  t.map(0x1000, 0x31000);
  AddressSpace as(ram, PagingMode::Long5, t.root);
  auto m = as.translate(va + 8);
  REQUIRE(m);
  CHECK(m->paddr == 0x30008);
  REQUIRE(m->entries.size() == 5);
  CHECK(m->entries[0].first == 5);
  CHECK(std::string(entry_name(m->entries[0].first)) == "PML5E");
  CHECK(as.translate(0x1000)->paddr == 0x31000);

  WalkFault f;
  CHECK_FALSE(AddressSpace(ram, PagingMode::Long4, t.root).translate(va, &f));
  CHECK(f.why == WalkFault::Why::NotCanonical);
  CHECK_FALSE(as.translate(0x0100'0000'0000'0000, &f));  // bit 56 set, 63:57 clear
  CHECK(f.why == WalkFault::Why::NotCanonical);
}

TEST_CASE("PAE paging: four PDPTEs, 4 KiB and 2 MiB pages, NX only with EFER.NXE", "[vmi]") {
  FakeRam ram(0x40000);
  PageTables t{ram, 3, 0x1000};
  t.root = 0x8020;  // a PDPT is 32-byte aligned, anywhere in a page
  t.map(0xc0001000, 0x30000, 1, P | W | NX);  // PDPTE 3
  t.map(0x40200000, 0x600000, 2, P);            // PDPTE 1, a 2 MiB page
  AddressSpace as(ram, PagingMode::Pae, t.root | 0x8);  // CR3's low flag bits are ignored

  auto m = as.translate(0xc0001234);
  REQUIRE(m);
  CHECK(m->paddr == 0x30234);
  CHECK(m->entries.size() == 3);
  CHECK(m->writable);
  CHECK_FALSE(m->user);
  CHECK_FALSE(m->nx);  // no NXE: bit 63 means nothing
  CHECK(AddressSpace(ram, PagingMode::Pae, t.root, true).translate(0xc0001234)->nx);

  auto big = as.translate(0x40212345);
  REQUIRE(big);
  CHECK(big->page_size == 0x200000);
  CHECK(big->paddr == 0x612345);
  CHECK_FALSE(big->writable);

  WalkFault f;
  CHECK_FALSE(as.translate(0x1'0000'0000, &f));  // PAE addresses are 32 bits
  CHECK(f.describe(PagingMode::Pae) == "not a 32-bit address");
  CHECK_FALSE(as.translate(0x00001000, &f));  // PDPTE 0 not present
  CHECK(f.level == 3);
  CHECK(f.entry_addr == 0x8020);
}

TEST_CASE("32-bit paging: 4-byte entries, 4 KiB pages, 4 MiB pages with CR4.PSE and PSE-36", "[vmi]") {
  FakeRam ram(0x40000);
  const std::uint64_t pd = 0x2000, pt = 0x3000;
  ram.put32(pd + (0xc0000000 >> 22) * 4, pt | P | W);                     // PDE 768: a page table
  ram.put32(pt + 5 * 4, 0x30000 | P | U | G);                               // PTE 5
  ram.put32(pd + (0x08000000 >> 22) * 4, 0x00c00000 | (0x3 << 13) | P | PS | U);  // a 4 MiB page at 0x3'00c00000

  AddressSpace as(ram, Paging{PagingMode::Legacy32, pd, false, true});
  auto m = as.translate(0xc0005678);
  REQUIRE(m);
  CHECK(m->paddr == 0x30678);
  CHECK(m->page_size == 0x1000);
  CHECK_FALSE(m->writable);  // the PTE forbids writes
  CHECK_FALSE(m->user);      // the PDE forbids user access
  CHECK(m->global);
  CHECK(m->entries == std::vector<std::pair<int, std::uint64_t>>{{2, pt | P | W}, {1, 0x30000 | P | U | G}});

  auto big = as.translate(0x08123456);
  REQUIRE(big);
  CHECK(big->page_size == 0x400000);
  CHECK(big->paddr == 0x3'00d23456);
  CHECK(big->user);

  // Without CR4.PSE the PS bit is ignored: the PDE points to a page table
  // (at 0xc06000, PSE-36 bits read as address bits: outside this RAM, a clean error).
  AddressSpace nopse(ram, Paging{PagingMode::Legacy32, pd, false, false});
  CHECK(status_of([&] { (void)nopse.translate(0x08123456); }) == 2);
  CHECK(has(message_of([&] { (void)nopse.translate(0x08123456); }), "its PTE at guest-physical 0xc0648c"));
}

TEST_CASE("paging off: virtual is physical, for 32-bit addresses", "[vmi]") {
  FakeRam ram(0x10000);
  ram.put_bytes(0x1ffe, "abcd");
  AddressSpace as(ram, PagingMode::Off, 0);
  auto m = as.translate(0x1ffe);
  REQUIRE(m);
  CHECK(m->paddr == 0x1ffe);
  CHECK(m->entries.empty());
  CHECK(m->writable);
  CHECK(as.read_bytes(0x1ffe, 4) == "abcd");
  CHECK(has(message_of([&] { (void)as.read_u32(0x1'0000'0000); }), "guest-virtual address 0x100000000: not a 32-bit address"));
}

TEST_CASE("rights combine over the levels: W and U only if all allow, NX if any forbids (with NXE)", "[vmi]") {
  FakeRam ram(0x40000);
  PageTables t{ram, 4, 0x1000};
  std::uint64_t a = 0x400000, b = 0x600000, c = 0x800000;
  t.map(a, 0x30000, 1, P | W | U);
  ram.put64(t.entry_addr(a, 2), ram.read_u64(t.entry_addr(a, 2)) & ~W);  // the PDE is read-only
  t.map(b, 0x31000, 1, P | W | U);
  ram.put64(t.entry_addr(b, 2), ram.read_u64(t.entry_addr(b, 2)) & ~U);  // the PDE is supervisor-only
  t.map(c, 0x32000, 1, P | W | U);
  ram.put64(t.entry_addr(c, 2), ram.read_u64(t.entry_addr(c, 2)) | NX);  // the PDE forbids execution

  AddressSpace nxe(ram, PagingMode::Long4, t.root, true);
  auto ma = nxe.translate(a), mb = nxe.translate(b), mc = nxe.translate(c);
  REQUIRE((ma && mb && mc));
  CHECK((!ma->writable && ma->user && !ma->nx));
  CHECK((mb->writable && !mb->user && !mb->nx));
  CHECK((mc->writable && mc->user && mc->nx));
  CHECK_FALSE(AddressSpace(ram, PagingMode::Long4, t.root, false).translate(c)->nx);
  CHECK_FALSE(ma->global);
}

TEST_CASE("a read across pages joins pages that are apart in physical memory", "[vmi]") {
  FakeRam ram(0x40000);
  PageTables t{ram, 4, 0x1000};
  t.map(0x10000, 0x32000);
  t.map(0x11000, 0x30000);  // the next virtual page lies below the first
  ram.put_bytes(0x32ffc, "abcd");
  ram.put_bytes(0x30000, "efgh");
  AddressSpace as(ram, PagingMode::Long4, t.root);
  CHECK(as.read_bytes(0x10ffc, 8) == "abcdefgh");
  CHECK(as.read_u64(0x10ffc) == 0x6867666564636261);
}

TEST_CASE("reading what is not mapped is a BadInput naming the first address, the entry and the read", "[vmi]") {
  FakeRam ram(0x40000);
  PageTables t{ram, 4, 0x1000};
  t.map(0x10000, 0x30000);
  AddressSpace as(ram, PagingMode::Long4, t.root);

  // 0x11000 shares the page table of 0x10000: its PTE is there but zero.
  auto read = [&] { (void)as.read_bytes(0x10ff8, 16); };
  CHECK(status_of(read) == 2);
  std::uint64_t pte = t.entry_addr(0x11000, 1);
  CHECK(message_of(read) == fmt::format("guest-virtual address 0x11000: not mapped (PTE 0x0 at guest-physical {:#x} is not present)"
                                        " (reading 16 bytes at 0x10ff8)", pte));
  // No page directory for 1 GiB up: the PDPTE is not there.
  CHECK(has(message_of([&] { (void)as.read_u64(0x40000000); }), "guest-virtual address 0x40000000: not mapped (PDPTE 0x0 at"));
  WalkFault f;
  CHECK_FALSE(as.translate(0x40000000, &f));
  CHECK(f.level == 3);
  CHECK(f.why == WalkFault::Why::NotPresent);
}

TEST_CASE("a non-canonical address in long mode is a BadInput, not a walk", "[vmi]") {
  FakeRam ram(0x10000);
  PageTables t{ram, 4, 0x1000};
  AddressSpace as(ram, PagingMode::Long4, t.root);
  int before = ram.reads;
  auto read = [&] { (void)as.read_u64(0x0000'8000'0000'0000); };
  CHECK(status_of(read) == 2);
  CHECK(message_of(read) == "guest-virtual address 0x800000000000: not canonical (reading 8 bytes at 0x800000000000)");
  CHECK(ram.reads == before);
}

TEST_CASE("tables pointing outside RAM are a clean BadInput naming the entry; so is a page outside RAM", "[vmi]") {
  FakeRam ram(0x10000);
  PageTables t{ram, 4, 0x1000};
  ram.put64(t.root, 0x7'0000'0000 | P | W);  // PML4E 0 -> a PDPT far outside RAM
  AddressSpace as(ram, PagingMode::Long4, t.root);
  auto walk_it = [&] { (void)as.translate(0x1000); };
  CHECK(status_of(walk_it) == 2);
  CHECK(has(message_of(walk_it), "guest-virtual address 0x1000: its PDPTE at guest-physical 0x700000000 cannot be read"));

  PageTables t2{ram, 4, 0x8000};
  t2.map(0x1000, 0x9'0000'0000);  // the page itself is outside RAM: translates, but cannot be read
  AddressSpace as2(ram, PagingMode::Long4, t2.root);
  REQUIRE(as2.translate(0x1000));
  auto read = [&] { (void)as2.read_u64(0x1ff0); };
  CHECK(status_of(read) == 2);
  CHECK(has(message_of(read), "guest-virtual address 0x1ff0 (reading 8 bytes at 0x1ff0): guest-physical address 0x900000ff0"));
}

TEST_CASE("a table that points to itself ends after one entry a level", "[vmi]") {
  FakeRam ram(0x10000);
  const std::uint64_t root = 0x1000;
  for (unsigned i = 0; i < 512; ++i) ram.put64(root + i * 8, root | P | W | U);  // every entry: the root again
  AddressSpace as(ram, PagingMode::Long5, root);
  auto m = as.translate(0x1234);
  REQUIRE(m);
  CHECK(m->entries.size() == 5);
  CHECK(m->paddr == root + 0x234);  // the leaf PTE maps the root table itself
}

TEST_CASE("the translation cache: hits read nothing; old answers until drop_cache(), as documented", "[vmi]") {
  FakeRam ram(0x40000);
  PageTables t{ram, 4, 0x1000};
  t.map(0x10000, 0x30000);
  AddressSpace as(ram, PagingMode::Long4, t.root);
  REQUIRE(as.translate(0x10010)->paddr == 0x30010);

  int before = ram.reads;
  CHECK(as.translate(0x10fff)->paddr == 0x30fff);  // same page: a hit
  CHECK(ram.reads == before);

  t.map(0x10000, 0x31000);  // the guest remaps the page (as it would while running)
  CHECK(as.translate(0x10010)->paddr == 0x30010);  // the contract: stale until dropped
  as.drop_cache();
  CHECK(as.translate(0x10010)->paddr == 0x31010);

  // Faults are not cached: a page mapped after a failed look-up is found.
  CHECK_FALSE(as.translate(0x12000));
  t.map(0x12000, 0x32000);
  CHECK(as.translate(0x12000)->paddr == 0x32000);

  // Two pages sharing a slot (256 apart) evict each other and stay right.
  t.map(0x10000 + 256 * 0x1000, 0x33000);
  CHECK(as.translate(0x10000 + 256 * 0x1000)->paddr == 0x33000);
  CHECK(as.translate(0x10000)->paddr == 0x31000);
}
