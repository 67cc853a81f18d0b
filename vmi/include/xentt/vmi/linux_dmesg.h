// xentt/vmi/linux_dmesg.h: a Linux guest's kernel log as it stands, read
// from its lockless printk ring buffer (`prb`, Linux 5.10+) by the DWARF
// of its kernel.
#pragma once

#include <vector>

#include "xentt/vmi/printk_ring.h"
#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

// The finalized records of the guest's log, oldest first (what `dmesg`
// prints; a last line the kernel has not finished is not among them).
// Throws BadInput when the kernel has no `prb` (older than 5.10, or not a
// Linux debug file), when its ring is inconsistent or claims more than
// kMaxPrintkRingBytes, and when a read fails (naming what was read).
// Cost: some ten small reads for the header, then a copy of the ring
// (Debian's 6.1: 4096 descriptors, 4096 infos, 128 KiB of text: about
// 0.6 MiB) and one pass over it.
std::vector<PrintkRecord> kernel_log(const EvalContext& cx);

}  // namespace xentt::vmi
