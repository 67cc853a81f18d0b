// qemu_attached.h (engine qemu, private): a replay that another process
// owns (a background replay left paused by tt_replay -p or --until), looked
// into through its endpoints: registers and guest-virtual reads through its
// gdbstub, guest-physical RAM through its memory-backend file. Its QMP
// socket stays with its owner (QEMU's monitor serves one client).
#pragma once

#include <memory>
#include <vector>

#include "xentt/vm/target.h"

namespace xentt::qemu {

// Throws BadInput naming what is missing when `endpoints` lack the gdb
// socket or the guest-RAM file (with its size).
std::unique_ptr<Target> attach_qemu(const std::vector<Endpoint>& endpoints);

}  // namespace xentt::qemu
