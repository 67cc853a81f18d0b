/* demo.h: the demo guest's shared declarations.
 *
 * The guest exists to give xentt's record/replay and branch tracing a small,
 * fully known workload: a timer interrupt that preempts two named work
 * functions (a round-robin scheduler), a divide fault raised and handled on
 * purpose, rep movs/stos string instructions, serial output, and globals that
 * VMI tools read by symbol. It ends itself through QEMU's isa-debug-exit
 * device: status 33 (value 0x10) when every self-check passed, 35 (0x11) when
 * one failed. */
#ifndef DEMO_H
#define DEMO_H

#include <stddef.h>
#include <stdint.h>

#define DEMO_EXIT_PASS 0x10 /* QEMU exits with (value << 1) | 1 = 33 */
#define DEMO_EXIT_FAIL 0x11 /* 35 */

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10

/* The register frame every interrupt and exception stub builds (isr.S),
 * lowest address first. Switching tasks means returning another frame. */
struct frame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
  uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error_code;
  uint64_t rip, cs, rflags, rsp, ss;
};

/* Parameters from the kernel command line ("ticks=N work=N seed=N"). */
struct params {
  uint64_t ticks; /* timer interrupts to run for before checking and exiting */
  uint64_t work;  /* size of the work functions' buffers (sieve limit, bytes) */
  uint64_t seed;  /* seeds the data, so the zero divisors and checksums vary */
  uint64_t hz;    /* timer frequency */
};
extern struct params demo_params;

/* Counters a VMI tool can read by symbol; updated only by the guest. */
extern volatile uint64_t demo_ticks;         /* timer interrupts taken */
extern volatile uint64_t demo_switches;      /* task switches done by the scheduler */
extern volatile uint64_t demo_div_faults;    /* #DE exceptions handled */
extern volatile uint64_t demo_rounds[2];     /* completed rounds per work function */
extern volatile uint64_t demo_current_task;  /* index of the running task */
extern volatile uint64_t demo_failures;      /* self-check failures (must stay 0) */

/* io */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

/* console.c: COM1 output */
void console_init(void);
void console_puts(const char* s);
void console_putu(uint64_t v);
void console_puthex(uint64_t v);
void console_printf(const char* fmt, ...); /* %s %u (uint64_t) %x (uint64_t) %% only */

/* cmdline.c */
void parse_cmdline(const char* cmdline, struct params* p);

/* idt.c */
void idt_init(void);
void pic_timer_init(uint64_t hz);
uint64_t isr_dispatch(struct frame* f); /* returns the frame to resume (maybe another task's) */

/* sched.c */
void sched_init(void);
uint64_t sched_tick(struct frame* f);

/* work.c: the two work functions the scheduler switches between */
void work_checksum(void);
void work_sieve(void);
uint64_t prime_count_reference(uint64_t limit);

/* isr.S */
uint64_t checked_div(uint64_t a, uint64_t b); /* a / b, or ~0 after a handled #DE */
extern const char checked_div_insn[], checked_div_fixup[];
extern char isr_stub_table[];

/* lib.c: string instructions on purpose (rep movsb / rep stosb / rep stosq) */
void* memcpy(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
void zero_qwords(void* dst, size_t nqwords);
int strncmp_prefix(const char* s, const char* prefix);

void demo_finish(void) __attribute__((noreturn));
void demo_fatal(const char* why, const struct frame* f) __attribute__((noreturn));

#endif
