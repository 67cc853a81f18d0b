// tests/xen/xen_read_bench: read bandwidth of a live domU's memory, ours
// against the way LibVMI's Xen driver reads (xc_map_foreign_range of one
// page, copy, munmap), on the same addresses in one run. Run in the Xen
// lab's dom0 by bench/xen.sh.
//
//   xen_read_bench DOMAIN VMLINUX [MIB]
//
// Physical: MIB MiB from guest-physical 1 MiB on (HVM/PVH: guest frames;
// PV: the frames behind the direct map, through our walk). Virtual: the
// same bytes through the direct map (our page walk, cached), in 64 KiB
// reads. Prints "bench NAME MB/s" lines.
#include <fmt/format.h>
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

// xc_map_foreign_range is the compatibility API LibVMI uses.
#define XC_WANT_COMPAT_MAP_FOREIGN_API
#include "vm/xen/xen_c.h"
#include "vm/xen/xen_target.h"
#include "xentt/vmi/inspector.h"

using namespace xentt;
using Clock = std::chrono::steady_clock;

namespace {
double mbps(std::uint64_t bytes, Clock::time_point t0) {
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return bytes / s / 1e6;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: xen_read_bench DOMAIN VMLINUX [MIB]\n");
    return 2;
  }
  try {
    std::uint64_t mib = argc > 3 ? std::stoull(argv[3]) : 32;
    xen::XenDomainTarget t(argv[1]);
    t.pause();
    vmi::InspectorOptions io;
    io.debug_file = argv[2];
    vmi::Inspector insp(t, io);
    vmi::EvalContext cx = insp.kernel_context();
    std::uint64_t pob = vmi::evaluate_scalar(cx, "page_offset_base");
    const std::uint64_t start = 1 << 20, bytes = mib << 20, chunk = 64 << 10;
    std::vector<std::byte> buf(chunk);
    // The frames to read, as the page tables name them.
    std::vector<std::uint64_t> frames;
    for (std::uint64_t off = 0; off < bytes; off += 4096) {
      auto m = insp.translate(pob + start + off);
      if (!m.mapping) throw std::runtime_error(fmt::format("{:#x} not mapped", pob + start + off));
      frames.push_back(m.mapping->paddr >> 12);
    }
    // LibVMI's way: one page mapped, copied, unmapped at a time.
    auto t0 = Clock::now();
    std::uint64_t sum = 0;
    for (std::uint64_t f : frames) {
      void* p = xc_map_foreign_range(t.control().xc(), t.info().domid, 4096, PROT_READ, f);
      if (!p) throw std::runtime_error(fmt::format("xc_map_foreign_range frame {:#x} failed", f));
      std::memcpy(buf.data(), p, 4096);
      sum += static_cast<unsigned char>(buf[7]);
      munmap(p, 4096);
    }
    double per_page = mbps(bytes, t0);
    // Ours, physical: 64 KiB reads of the same frames (contiguous runs).
    t.resume(), t.pause();  // drop our mappings: start cold
    t0 = Clock::now();
    for (std::size_t i = 0; i < frames.size(); i += chunk / 4096) {
      t.read_physical(frames[i] << 12, std::span(buf.data(), 4096));
      for (std::size_t k = 1; k < chunk / 4096 && i + k < frames.size(); ++k)
        t.read_physical(frames[i + k] << 12, std::span(buf.data() + k * 4096, 4096));
      sum += static_cast<unsigned char>(buf[9]);
    }
    double phys = mbps(bytes, t0);
    // Ours, virtual, cold: through the direct map, 64 KiB reads.
    t.resume(), t.pause();
    vmi::Inspector fresh(t, io);
    const vmi::GuestMemory& vm = fresh.kernel_space();
    t0 = Clock::now();
    for (std::uint64_t off = 0; off < bytes; off += chunk) {
      vm.read(pob + start + off, std::span(buf.data(), chunk));
      sum += static_cast<unsigned char>(buf[11]);
    }
    double virt = mbps(bytes, t0);
    t.resume();
    fmt::print("bench per-page-map (xc_map_foreign_range) {:.1f} MB/s\n", per_page);
    fmt::print("bench tt-physical {:.1f} MB/s ({:.1f}x)\n", phys, phys / per_page);
    fmt::print("bench tt-virtual {:.1f} MB/s ({:.1f}x)\n", virt, virt / per_page);
    fmt::print("bench checksum {}\n", sum);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xen_read_bench: %s\n", e.what());
    return 1;
  }
}
