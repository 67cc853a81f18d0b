#include "xentt/vm/target.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>

#include "xentt/base/error.h"

namespace xentt {

void Target::read_physical(std::uint64_t paddr, std::span<std::byte> out) {
  auto mem = physical_memory();
  if (!mem) throw runtime_error("engine " + engine() + " cannot read guest-physical memory");
  read_physical_from(*mem, paddr, out);
}

Target::LiveTrace Target::trace_live(unsigned, std::chrono::milliseconds, const std::filesystem::path&) {
  throw bad_input("engine " + engine() +
                  " does not trace a live VM: it traces replays (trace_task); engine xen traces live domains");
}

void Target::write_native_core(const std::filesystem::path&) {
  throw bad_input("engine " + engine() + " has no core format of its own: write an ELF vmcore (--format elf)");
}

void read_physical_from(const PhysicalMemory& mem, std::uint64_t paddr, std::span<std::byte> out) {
  int fd = -1;
  auto close_fd = [&] {
    if (fd >= 0) ::close(fd);
  };
  std::uint64_t addr = paddr;
  std::size_t done = 0;
  try {
    while (done < out.size()) {
      const PhysicalRange* r = nullptr;
      for (const auto& c : mem.ranges)
        if (addr >= c.guest && addr - c.guest < c.size) r = &c;
      if (!r) {
        throw bad_input(fmt::format("guest-physical address {:#x} is outside the guest's RAM{}", addr,
                                    addr == paddr ? "" : fmt::format(" (reading {} bytes at {:#x})", out.size(), paddr)));
      }
      if (fd < 0) {
        fd = ::open(mem.file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw system_error("cannot read guest memory " + mem.file.string(), errno);
      }
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size() - done, r->size - (addr - r->guest)));
      ssize_t got = ::pread(fd, out.data() + done, n, static_cast<off_t>(r->file_offset + (addr - r->guest)));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        throw got < 0 ? system_error("cannot read guest memory " + mem.file.string(), errno)
                      : runtime_error(fmt::format("{}: ends before guest-physical address {:#x}", mem.file.string(), addr));
      }
      done += static_cast<std::size_t>(got);
      addr += static_cast<std::uint64_t>(got);
    }
  } catch (...) {
    close_fd();
    throw;
  }
  close_fd();
}

}  // namespace xentt
