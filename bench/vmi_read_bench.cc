// bench/vmi_read_bench: guest memory read bandwidth inside one process,
// for bench/vmi.sh: MappedRam over an engine's RAM file, and AddressSpace
// (our page walk, its cache) over it, reading LEN bytes at a time.
// Usage: vmi_read_bench RAMFILE RAM_BYTES CR3 VADDR LEN
// Prints "physical GB/s virtual GB/s" (best of 5 passes over LEN bytes).
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "xentt/vmi/mapped_ram.h"
#include "xentt/vmi/page_walk.h"

using namespace xentt;

namespace {

// The best of 5 passes reading `len` bytes from `m` at `addr`, in 64 KiB
// reads (what a tool reading a buffer or a struct array does), in GB/s.
double best_gbps(const vmi::GuestMemory& m, std::uint64_t addr, std::uint64_t len) {
  std::vector<std::byte> buf(64 << 10);
  double best = 0;
  for (int pass = 0; pass < 5; ++pass) {
    auto t0 = std::chrono::steady_clock::now();
    for (std::uint64_t at = 0; at < len; at += buf.size())
      m.read(addr + at, std::span(buf.data(), std::min<std::uint64_t>(buf.size(), len - at)));
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(len) / s / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    fmt::print(stderr, "usage: vmi_read_bench RAMFILE RAM_BYTES CR3 VADDR LEN\n");
    return 2;
  }
  auto num = [](const char* s) { return std::strtoull(s, nullptr, 0); };
  std::uint64_t ram_bytes = num(argv[2]), cr3 = num(argv[3]), vaddr = num(argv[4]), len = num(argv[5]);
  // pc's layout below 3.5 GiB: one range at file offset 0 (bench guests are small).
  vmi::MappedRam ram(PhysicalMemory{argv[1], {{0, ram_bytes, 0}}});
  vmi::AddressSpace vm(ram, vmi::PagingMode::Long4, cr3, true);
  double phys = best_gbps(ram, 0, len), virt = best_gbps(vm, vaddr, len);
  fmt::print("{:.2f} {:.2f}\n", phys, virt);
  return 0;
}
