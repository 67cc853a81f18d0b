/* sched.c: a round-robin scheduler of two tasks, preempted by the timer.
 *
 * Each task has its own stack; a task that is not running is a struct frame
 * saved on its stack by the interrupt stub. Switching is returning the other
 * task's frame from the timer interrupt. The boot context (kmain's idle loop)
 * runs only until the first tick and is never resumed. */
#include "demo.h"

#define NTASKS 2
#define TASK_STACK 16384

struct task {
  const char* name;
  void (*entry)(void);
  uint64_t saved_frame; /* the task's frame while it is not running */
};

static uint8_t task_stacks[NTASKS][TASK_STACK] __attribute__((aligned(16)));
static struct task tasks[NTASKS] = {
    {"work_checksum", work_checksum, 0},
    {"work_sieve", work_sieve, 0},
};
static int started;

/* A task that has never run starts from a frame that "returns" into its
 * entry function with interrupts on. Entry functions never return; the zero
 * return address under their first frame makes a return fault loudly. */
static uint64_t initial_frame(int i) {
  uint8_t* top = task_stacks[i] + TASK_STACK;
  uint64_t* ret_slot = (uint64_t*)(top - 16);
  *ret_slot = 0;
  struct frame* f = (struct frame*)((uint8_t*)ret_slot - sizeof(struct frame));
  zero_qwords(f, sizeof(*f) / 8);
  f->rip = (uint64_t)tasks[i].entry;
  f->cs = KERNEL_CS;
  f->rflags = 0x202; /* IF */
  f->rsp = (uint64_t)ret_slot;
  f->ss = KERNEL_DS;
  return (uint64_t)f;
}

void sched_init(void) {
  for (int i = 0; i < NTASKS; i++) tasks[i].saved_frame = initial_frame(i);
  demo_current_task = 0;
}

uint64_t sched_tick(struct frame* f) {
  demo_ticks++;
  if (demo_params.hz && demo_ticks % demo_params.hz == 0) {
    console_printf("demo: tick %u: switches=%u rounds=%u/%u div_faults=%u\n", demo_ticks, demo_switches,
                   demo_rounds[0], demo_rounds[1], demo_div_faults);
  }
  if (demo_ticks >= demo_params.ticks) demo_finish();

  if (!started) { /* leave the boot context for good */
    started = 1;
    return tasks[0].saved_frame;
  }
  /* Switch every other tick, so that a task sometimes keeps the CPU across a tick. */
  if (demo_ticks % 2) return (uint64_t)f;
  uint64_t cur = demo_current_task;
  uint64_t next = (cur + 1) % NTASKS;
  tasks[cur].saved_frame = (uint64_t)f;
  demo_current_task = next;
  demo_switches++;
  return tasks[next].saved_frame;
}
