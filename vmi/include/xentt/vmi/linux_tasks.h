// xentt/vmi/linux_tasks.h: the tasks of a Linux guest (processes and their
// threads, kernel threads), read by the DWARF of its kernel, as `ps`
// would list them from inside.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

struct LinuxTask {
  std::uint64_t address = 0;  // its struct task_struct
  std::int64_t pid = 0, tgid = 0;
  std::int64_t ppid = 0;  // real_parent->tgid, as /proc/PID/stat's ppid
  std::string comm;       // task->comm (/proc appends a workqueue's name to a kworker's; this does not)
  char state = '?';       // ps's letter: R S D T t X Z P I
  bool kernel_thread = false;  // mm == NULL or PF_KTHREAD
  bool running = false;        // the CPU's `current`
};

// ps's letter for a task's state and exit_state bits (fs/proc/array.c's
// task_state_array after task_state_index(): TASK_IDLE reads 'I').
char task_state_letter(std::uint64_t state, std::uint64_t exit_state);

// The task running on the CPU of `cx.per_cpu_offset` (per-CPU
// `pcpu_hot.current_task` on 6.2+, `current_task` before, whichever the
// DWARF has). Throws BadInput when neither exists or the read fails.
std::uint64_t current_task(const EvalContext& cx);

// Every task: init_task (pid 0, "swapper/0"), then each process of the
// `tasks` list, each followed by its other threads (signal->thread_head /
// thread_node, or thread_group on kernels older than 6.7 that lack it).
// With `mark_running`, current_task() marks the running task. Throws BadInput when the
// debug file is not a Linux kernel's (no init_task), on a broken list
// (list_walk.h), and on a failed read (naming the task and field).
// Cost: the DWARF lookups, then per task one walk step and some eight
// small reads (~1 ms for 100 tasks with RAM mapped).
std::vector<LinuxTask> linux_tasks(const EvalContext& cx, bool mark_running = true);

}  // namespace xentt::vmi
