// ps's state letters of Linux tasks (xentt/vmi/linux_tasks.h), from the
// __state and exit_state bits as fs/proc/array.c maps them.
#include <catch2/catch_test_macros.hpp>

#include "xentt/vmi/linux_tasks.h"

using xentt::vmi::task_state_letter;

TEST_CASE("task state letters are ps's", "[vmi][linux]") {
  CHECK(task_state_letter(0x0000, 0) == 'R');     // TASK_RUNNING
  CHECK(task_state_letter(0x0001, 0) == 'S');     // TASK_INTERRUPTIBLE
  CHECK(task_state_letter(0x0002, 0) == 'D');     // TASK_UNINTERRUPTIBLE
  CHECK(task_state_letter(0x0102, 0) == 'D');     // TASK_KILLABLE: wakekill is not reported
  CHECK(task_state_letter(0x0004, 0) == 'T');     // __TASK_STOPPED
  CHECK(task_state_letter(0x0008, 0) == 't');     // __TASK_TRACED
  CHECK(task_state_letter(0x0040, 0) == 'P');     // TASK_PARKED
  CHECK(task_state_letter(0x0402, 0) == 'I');     // TASK_IDLE = UNINTERRUPTIBLE | NOLOAD
  CHECK(task_state_letter(0x0000, 0x20) == 'Z');  // EXIT_ZOMBIE
  CHECK(task_state_letter(0x0000, 0x10) == 'X');  // EXIT_DEAD
  CHECK(task_state_letter(0x1000, 0) == 'D');     // TASK_RTLOCK_WAIT
}
