/* main.c: kmain, the guest's self-check at the end, and its fatal path. */
#include "demo.h"

/* Xen's PVH start info (xen/include/public/arch-x86/hvm/start_info.h), as far
 * as we read it. */
struct hvm_start_info {
  uint32_t magic; /* 0x336ec578 */
  uint32_t version;
  uint32_t flags;
  uint32_t nr_modules;
  uint64_t modlist_paddr;
  uint64_t cmdline_paddr;
  uint64_t rsdp_paddr;
};
#define HVM_START_MAGIC 0x336ec578

struct params demo_params = {.ticks = 200, .work = 8192, .seed = 1, .hz = 1000};
volatile uint64_t demo_ticks, demo_switches, demo_div_faults, demo_rounds[2], demo_current_task, demo_failures;
static uint64_t primes_reference;
extern volatile uint64_t demo_checksum, demo_primes, demo_expected_div_faults;

static void debug_exit(uint8_t value) __attribute__((noreturn));
static void debug_exit(uint8_t value) {
  outb(0xf4, value); /* QEMU isa-debug-exit: the process exits here */
  for (;;) __asm__ volatile("cli; hlt");
}

void kmain(const struct hvm_start_info* si) {
  console_init();
  console_puts("xentt demo guest\n");
  if (si && si->magic == HVM_START_MAGIC) {
    if (si->cmdline_paddr) parse_cmdline((const char*)si->cmdline_paddr, &demo_params);
  } else {
    console_printf("demo: no PVH start info at %x; using default parameters\n", (uint64_t)si);
  }
  console_printf("demo: ticks=%u work=%u seed=%u hz=%u\n", demo_params.ticks, demo_params.work,
                 demo_params.seed, demo_params.hz);
  if (demo_params.ticks == 0) demo_params.ticks = 1;

  primes_reference = prime_count_reference(demo_params.work < 64 ? 64 : demo_params.work > 65536 ? 65536 : demo_params.work);
  idt_init();
  sched_init();
  pic_timer_init(demo_params.hz);
  __asm__ volatile("sti");
  for (;;) __asm__ volatile("hlt"); /* until the first tick switches to a task */
}

static void check(int ok, const char* what) {
  if (!ok) {
    console_printf("demo: check failed: %s\n", what);
    demo_failures++;
  }
}

void demo_finish(void) {
  console_printf("demo: done: ticks=%u switches=%u rounds=%u/%u div_faults=%u expected_div_faults=%u\n",
                 demo_ticks, demo_switches, demo_rounds[0], demo_rounds[1], demo_div_faults,
                 demo_expected_div_faults);
  console_printf("demo: primes_below_work=%u reference=%u checksum=%x\n", demo_primes, primes_reference,
                 demo_checksum);
  uint64_t failures_before = demo_failures;
  check(failures_before == 0, "a work function's self-check failed");
  check(demo_switches > 0, "no task switch happened");
  check(demo_rounds[0] > 0 && demo_rounds[1] > 0, "a work function never completed a round");
  check(demo_div_faults > 0, "no divide fault was raised");
  check(demo_div_faults == demo_expected_div_faults, "divide faults handled != divide faults raised");
  check(demo_primes == primes_reference, "sieve disagrees with trial division");
  if (demo_failures == 0) {
    console_puts("demo: PASS\n");
    debug_exit(DEMO_EXIT_PASS);
  }
  console_printf("demo: FAIL (%u failures)\n", demo_failures);
  debug_exit(DEMO_EXIT_FAIL);
}

void demo_fatal(const char* why, const struct frame* f) {
  console_printf("demo: fatal: %s: vector=%u error=%x rip=%x rsp=%x\n", why, f->vector, f->error_code, f->rip,
                 f->rsp);
  console_puts("demo: FAIL\n");
  debug_exit(DEMO_EXIT_FAIL);
}
