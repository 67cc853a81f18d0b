// xentt/vm/target.h: anything paused that one can look inside. A replay of
// engine qemu is one (xentt/vm/replay_target.h adds what only replays
// have); a live Xen domU will be another. VMI, debuggers and tracing tools
// talk to this interface only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "xentt/vm/registers.h"

namespace xentt {

// A way in from outside: a debugger's socket, guest RAM as a file, ...
struct Endpoint {
  std::string name;      // "gdb", "qmp", "memory", "console": what tools and users call it
  std::string protocol;  // "gdb-remote", "qmp", "guest-ram", "serial-log": what speaks there
  std::filesystem::path path;          // a unix socket or a file
  std::optional<std::uint64_t> bytes;  // the file's size, where it matters (guest RAM)
};

// Guest-physical RAM laid out in a file: each range of guest-physical
// addresses at its file offset (RAM is split around the PCI hole).
struct PhysicalRange {
  std::uint64_t guest = 0;
  std::uint64_t size = 0;
  std::uint64_t file_offset = 0;
};
struct PhysicalMemory {
  std::filesystem::path file;
  std::vector<PhysicalRange> ranges;  // ascending guest addresses
};

class Target {
 public:
  virtual ~Target() = default;

  // The engine that runs it ("qemu", "xen").
  virtual std::string engine() const = 0;
  // The guest's architecture as trace logs record it.
  virtual std::string arch() const { return "x86_64"; }
  virtual unsigned vcpus() const = 0;

  // Stops the guest where it is and waits until it is paused / lets it run
  // on without waiting. Cost: a control round trip each.
  virtual void pause() = 0;
  virtual void resume() = 0;

  // Every register the engine can read of a paused vCPU. Cost (engine qemu):
  // a gdbstub round trip.
  virtual Registers registers(unsigned vcpu = 0) = 0;
  virtual void set_register(unsigned vcpu, Reg r, std::uint64_t value) = 0;

  // `len` bytes of guest-virtual memory at `vaddr` as the paused vCPU sees
  // it, translated by the engine; nullopt when unmapped.
  virtual std::optional<std::string> read_virtual(std::uint64_t vaddr, std::size_t len, unsigned vcpu = 0) = 0;

  // Guest RAM as a file, where the engine keeps it in one (engine qemu's
  // memory backend); nullopt otherwise.
  virtual std::optional<PhysicalMemory> physical_memory() const { return std::nullopt; }
  // Guest-physical bytes at `paddr`. Throws BadInput naming the address
  // when any byte of it is outside RAM. This default reads
  // physical_memory()'s file (one pread per range touched).
  virtual void read_physical(std::uint64_t paddr, std::span<std::byte> out);

  // Guest RAM as the guest's kernel numbers it (what its direct map maps
  // and a vmcore holds), where that differs from the frames its page
  // tables name: a Xen PV guest's tables name machine frames, its kernel
  // counts pseudo-physical ones. These defaults are for every other guest:
  // the numbering is the physical one.
  //
  // The ranges that hold RAM, ascending; this default: physical_memory()'s
  // ranges, else none. Cost (engine xen): a mapping attempt per 1024 frames.
  virtual std::vector<PhysicalRange> ram_ranges() {
    auto m = physical_memory();
    return m ? m->ranges : std::vector<PhysicalRange>{};
  }
  // Whether that numbering is the physical one (then tools read RAM the
  // way they read physical memory, mapped when they can).
  virtual bool ram_is_physical() const { return true; }
  // Bytes of RAM at `addr` in that numbering. Throws what read_physical throws.
  virtual void read_ram(std::uint64_t addr, std::span<std::byte> out) { read_physical(addr, out); }
  // The RAM address of guest-physical `paddr` (a page walk's answer);
  // nullopt when it is not RAM of the guest.
  virtual std::optional<std::uint64_t> ram_address_of(std::uint64_t paddr) { return paddr; }

  // Branch records of the guest running on for `run_for` from here, where
  // the engine captures them from a live VM (engine xen: vmtrace, Intel
  // PT), written to `bts` as a raw .bts (no exact brctr); the guest is
  // paused again after. Throws BadInput saying why it cannot (this default:
  // the engine traces replays, with trace_task).
  struct LiveTrace {
    std::uint64_t records = 0, gaps = 0;
    std::string first_error;  // the first decode error, with its offset; "" when none
  };
  virtual LiveTrace trace_live(unsigned vcpu, std::chrono::milliseconds run_for, const std::filesystem::path& bts);

  // The engine's own core format of the VM as it is now, where it has one
  // (engine xen: Xen's xc_core, what `xl dump-core` writes and crash reads
  // for PV domains), written whole under a temporary name, then renamed.
  // Throws BadInput when the engine has none (this default).
  virtual void write_native_core(const std::filesystem::path& path);

  // Where debuggers and VMI tools attach.
  virtual std::vector<Endpoint> endpoints() const = 0;
};

// Reads guest-physical bytes from a RAM file laid out as `mem` says. Throws
// BadInput naming the first address outside RAM, Runtime when the file
// cannot be read.
void read_physical_from(const PhysicalMemory& mem, std::uint64_t paddr, std::span<std::byte> out);

}  // namespace xentt
