// xentt/vmi/vmcore_writer.h: an ELF64 core file of a guest, as kdump writes
// them and crash(8) and drgn read them: one PT_NOTE segment (an
// NT_PRSTATUS note per vCPU with its registers, a VMCOREINFO note), then
// one PT_LOAD segment per range of guest RAM (p_paddr = the guest-physical
// address, p_vaddr = where the kernel's direct map shows it), and extra
// PT_LOAD views of bytes already in the file (the kernel image at its
// virtual address) that share those bytes instead of copying them.
//
// The format is ELF's (the System V gABI and the Linux kdump conventions);
// its reader is whoever opens the core: crash, drgn, gdb, our tests (libelf).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "xentt/vm/registers.h"
#include "xentt/vm/target.h"
#include "xentt/vmi/guest_memory.h"

namespace xentt::vmi {

struct VmcoreSpec {
  // Guest RAM, ascending guest-physical ranges (file_offset is ignored).
  std::vector<PhysicalRange> ram;
  // Added to a guest-physical address to give p_vaddr of its PT_LOAD (the
  // Linux direct map's base, page_offset_base); nullopt: p_vaddr 0.
  std::optional<std::uint64_t> direct_map_base;
  // More views of RAM already written: [vaddr, vaddr + size) is guest-physical
  // paddr.. (the kernel image at __START_KERNEL_map + phys_base).
  struct View {
    std::uint64_t vaddr = 0, paddr = 0, size = 0;
  };
  std::vector<View> views;
  std::vector<Registers> vcpus;  // one NT_PRSTATUS each
  std::string vmcoreinfo;        // the VMCOREINFO note's text; none when empty
};

// Writes the core to `path` (through a temporary file renamed at the end:
// a core cut short is never left under its name). RAM is read from `phys`
// in 1 MiB pieces; `progress(bytes_done, bytes_total)` is called after each.
// Throws BadInput for a view outside the RAM written, what `phys` throws,
// and Runtime when the file cannot be written. Cost: one read of guest RAM
// and one write of it (about the size of RAM).
void write_vmcore(const std::filesystem::path& path, const VmcoreSpec& spec, const GuestMemory& phys,
                  const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

}  // namespace xentt::vmi
