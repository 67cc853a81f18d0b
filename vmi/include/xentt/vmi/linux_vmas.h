// xentt/vmi/linux_vmas.h: a Linux process's memory map (its mm's VMAs), as
// /proc/PID/maps shows it, read by the DWARF of its kernel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

struct LinuxVma {
  std::uint64_t address = 0;  // its struct vm_area_struct
  std::uint64_t start = 0, end = 0;
  std::uint64_t flags = 0;    // vm_flags: VM_READ 1, VM_WRITE 2, VM_EXEC 4
  std::uint64_t pgoff = 0;    // file offset in pages
  std::uint64_t file = 0;     // its struct file (0: anonymous)
  std::uint64_t inode = 0;    // the file's inode: mappings of one file share it
  std::string path;           // the file's path in the guest ("" when anonymous; "[vdso]" for the vDSO)

  bool executable() const noexcept { return flags & 4; }
};

// The VMAs of the struct mm_struct at `mm`, in address order: mm->mm_mt
// (6.1+) or the mm->mmap list (before). A guest is not trusted: walks are
// bounded (`max_vmas`); an entry whose vm_start/vm_end disagree with where
// the tree keeps it, or a list that goes backwards, ends the walk with
// BadInput naming the mm and the VMA. The vDSO's VMA (mm->context.vdso)
// is named "[vdso]". A path that cannot be read is "?" (the VMA is kept).
// Cost: the tree's nodes, one 152-byte read per VMA, and a few reads per
// distinct file for its path (dentries up to the root, across mounts).
std::vector<LinuxVma> linux_vmas(const EvalContext& cx, std::uint64_t mm, std::size_t max_vmas = 65536);

// The path of the struct file at `file` (its f_path: dentries up to the
// filesystem root, crossing mount points, as d_path() spells it). Throws
// BadInput on a failed read or a chain longer than 256 names.
std::string linux_file_path(const EvalContext& cx, std::uint64_t file);

}  // namespace xentt::vmi
