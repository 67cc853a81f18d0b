// Guest RAM read from the engine's file (xentt/vmi/mapped_ram.h): a real
// file split around the PCI hole as engine qemu lays it out (guest 0..low
// at file offset 0, guest 4 GiB.. at file offset low), and the errors.
#include <fstream>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "unit_util.h"
#include "vmi_fake_ram.h"
#include "xentt/vmi/mapped_ram.h"
#include "xentt/vmi/page_walk.h"
#include "xentt/vmi/target_physical.h"

using namespace xentt;
using namespace xentt::test;
using namespace xentt::vmi;

namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

constexpr std::uint64_t kLow = 0x3000, kHigh = 0x2000, k4G = 0x1'0000'0000;

// A RAM file: low RAM holds 'L' bytes, high RAM 'H' bytes, and markers.
struct RamFile {
  TempDir dir;
  PhysicalMemory mem{dir.path / "ram", {{0, kLow, 0}, {k4G, kHigh, kLow}}};
  RamFile() {
    std::string bytes(kLow, 'L');
    bytes += std::string(kHigh, 'H');
    bytes.replace(kLow - 2, 2, "lo");  // the last bytes of low RAM
    bytes.replace(kLow, 2, "hi");      // the first of high RAM (guest 4 GiB)
    std::ofstream(mem.file, std::ios::binary) << bytes;
  }
  void overwrite(std::uint64_t offset, const std::string& s) {
    std::fstream f(mem.file, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(offset));
    f << s;
  }
};

// A target with a RAM file or without: only what physical_memory_of uses.
class FakeTarget final : public Target {
 public:
  explicit FakeTarget(std::optional<PhysicalMemory> mem) : mem_(std::move(mem)) {}
  std::string engine() const override { return "fake"; }
  unsigned vcpus() const override { return 1; }
  void pause() override {}
  void resume() override {}
  Registers registers(unsigned) override { return {}; }
  void set_register(unsigned, Reg, std::uint64_t) override {}
  std::optional<std::string> read_virtual(std::uint64_t, std::size_t, unsigned) override { return std::nullopt; }
  std::optional<PhysicalMemory> physical_memory() const override { return mem_; }
  void read_physical(std::uint64_t paddr, std::span<std::byte> out) override {
    ++physical_reads;
    for (auto& b : out) b = std::byte{static_cast<unsigned char>(paddr++)};
  }
  std::vector<Endpoint> endpoints() const override { return {}; }
  int physical_reads = 0;

 private:
  std::optional<PhysicalMemory> mem_;
};

}  // namespace

TEST_CASE("mapped RAM reads both ranges at their file offsets", "[vmi]") {
  RamFile f;
  MappedRam ram(f.mem);
  CHECK(ram.kind() == "guest-physical");
  CHECK(ram.read_bytes(kLow - 2, 2) == "lo");
  CHECK(ram.read_bytes(k4G, 2) == "hi");
  CHECK(ram.read_bytes(k4G + kHigh - 3, 3) == "HHH");
  CHECK(ram.read_bytes(0, 0).empty());
  CHECK(ram.ranges().size() == 2);
}

TEST_CASE("a batch of reads fills each piece from its address; a bad piece throws naming its address", "[vmi]") {
  RamFile f;
  MappedRam ram(f.mem);
  char a[2], b[3];
  vmi::GuestMemory::Piece pieces[] = {{kLow - 2, std::as_writable_bytes(std::span(a))},
                                      {k4G + kHigh - 3, std::as_writable_bytes(std::span(b))}};
  ram.read_many(pieces);
  CHECK(std::string(a, 2) == "lo");
  CHECK(std::string(b, 3) == "HHH");
  vmi::GuestMemory::Piece bad[] = {{kLow - 2, std::as_writable_bytes(std::span(a))},
                                   {kLow, std::as_writable_bytes(std::span(b))}};
  CHECK(test::status_of([&] { ram.read_many(bad); }) == 2);
  CHECK_THAT(test::message_of([&] { ram.read_many(bad); }), Catch::Matchers::ContainsSubstring("outside the guest's RAM"));
}

TEST_CASE("mapped RAM is shared: what the engine writes after the mapping is what we read", "[vmi]") {
  RamFile f;
  MappedRam ram(f.mem);
  CHECK(ram.read_bytes(0x100, 3) == "LLL");
  f.overwrite(0x100, "new");
  f.overwrite(kLow + 0x10, "up");
  CHECK(ram.read_bytes(0x100, 3) == "new");
  CHECK(ram.read_bytes(k4G + 0x10, 2) == "up");
}

TEST_CASE("a read touching any byte outside RAM is a BadInput naming the first such address", "[vmi]") {
  RamFile f;
  MappedRam ram(f.mem);
  auto past_low = [&] { (void)ram.read_bytes(kLow - 4, 8); };  // runs into the PCI hole
  CHECK(status_of(past_low) == 2);
  CHECK(message_of(past_low) == "guest-physical address 0x3000: outside the guest's RAM (reading 8 bytes at 0x2ffc)");
  CHECK(has(message_of([&] { (void)ram.read_u32(k4G - 2); }), "guest-physical address 0xfffffffe: outside"));
  CHECK(has(message_of([&] { (void)ram.read_u64(k4G + kHigh - 4); }),
            "guest-physical address 0x100002000: outside the guest's RAM (reading 8 bytes at 0x100001ffc)"));
  CHECK(status_of([&] { (void)ram.read_u64(UINT64_MAX - 3); }) == 2);
}

TEST_CASE("a RAM file shorter than its ranges, missing, or with overlapping ranges is a Runtime error naming it", "[vmi]") {
  RamFile f;
  PhysicalMemory longer = f.mem;
  longer.ranges[1].size = kHigh + 0x1000;
  auto open_longer = [&] { MappedRam r(longer); };
  CHECK(status_of(open_longer) == 1);
  CHECK(has(message_of(open_longer), f.mem.file.string() + ": guest RAM file has 20480 bytes, its ranges need 24576"));

  PhysicalMemory missing = f.mem;
  missing.file = f.dir.path / "nothing";
  CHECK(status_of([&] { MappedRam r(missing); }) == 1);
  CHECK(has(message_of([&] { MappedRam r(missing); }), "nothing"));

  PhysicalMemory overlapping = f.mem;
  overlapping.ranges[1].guest = kLow - 0x1000;
  CHECK(status_of([&] { MappedRam r(overlapping); }) == 1);
  CHECK(has(message_of([&] { MappedRam r(overlapping); }), "starts before the one before it ends"));

  PhysicalMemory none{f.mem.file, {}};
  MappedRam empty(none);  // no RAM at all: every read is outside
  CHECK(status_of([&] { (void)empty.read_u32(0); }) == 2);
}

TEST_CASE("page tables in mapped RAM map a virtual page to RAM above 4 GiB", "[vmi]") {
  RamFile f;
  auto entry = [](std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); };
  f.overwrite(0x0000, entry(0x1000 | P | W));  // PML4E 0 -> PDPT at 0x1000
  f.overwrite(0x1000, entry(0x2000 | P | W));  // PDPTE 0 -> PD at 0x2000
  f.overwrite(kLow + 0x1000, entry(k4G | P | W));  // the PT sits above 4 GiB ...
  f.overwrite(0x2000, entry((k4G + 0x1000) | P | W));  // ... PDE 0 -> PT at 4 GiB + 0x1000
  MappedRam ram(f.mem);
  AddressSpace as(ram, PagingMode::Long4, 0);
  auto m = as.translate(0x5);
  REQUIRE(m);
  CHECK(m->paddr == k4G + 5);
  CHECK(as.read_bytes(0, 2) == "hi");
}

TEST_CASE("a target's physical memory: its RAM file mapped when it has one, else its own reads", "[vmi]") {
  RamFile f;
  FakeTarget with_file(f.mem);
  auto mapped = physical_memory_of(with_file);
  CHECK(dynamic_cast<MappedRam*>(mapped.get()));
  CHECK(mapped->read_bytes(k4G, 2) == "hi");
  CHECK(with_file.physical_reads == 0);

  FakeTarget live(std::nullopt);
  auto through = physical_memory_of(live);
  CHECK(dynamic_cast<TargetPhysical*>(through.get()));
  CHECK(through->read_u32(0x10) == 0x13121110);
  CHECK(live.physical_reads == 1);
  CHECK(through->kind() == "guest-physical");
}
