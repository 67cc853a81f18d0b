// xentt/vmi/process_images.h: the code a Linux process has mapped: each
// file mapped executable (the program, ld.so, libraries) and the vDSO,
// with the build-id read from the guest's own memory, so that a host-side
// file can be matched to it (session/process_symbols.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xentt/vmi/linux_vmas.h"
#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

struct ProcessImage {
  std::string guest_path;  // as the guest names it: "/lib/libc.so.6", "[vdso]"
  std::uint64_t inode = 0;  // 0 for the vDSO
  // NT_GNU_BUILD_ID's bytes, read from the file's ELF header and notes in
  // guest memory; empty when they could not be read (`why` says so).
  std::string build_id;
  std::string why;
  // The executable mappings: guest [start, end) holds the file's bytes from
  // file_offset on.
  struct Code {
    std::uint64_t start = 0, end = 0, file_offset = 0;
  };
  std::vector<Code> code;
};

// The images of a process whose VMAs are `vmas`, reading its user memory
// through `cx.memory` (so `cx` must see the process's address space: the
// guest paused while that process is current, or an AddressSpace of its
// mm->pgd). An ELF header is read where the file's first page is mapped
// (vm_pgoff 0), else (a page no process touched) from the kernel's page
// cache of the file; the vDSO's from the kernel's own image
// (mm->context.vdso_image->data) when its user page is not readable.
// Nothing here throws for what a guest's memory holds: an image whose
// header or notes cannot be read is listed with an empty build_id and the
// reason. Cost: for each file 3 small reads (header, program headers, notes).
std::vector<ProcessImage> process_images(const EvalContext& cx, std::uint64_t mm, const std::vector<LinuxVma>& vmas);

// The build-id in an ELF image whose first bytes (header, program
// headers, notes: at least what they span) are `image`; empty when there
// is none or the bytes are not such an image. Reads only within `image`.
std::string elf_build_id_in(std::string_view image);

}  // namespace xentt::vmi
