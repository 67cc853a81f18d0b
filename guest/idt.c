/* idt.c: the interrupt descriptor table, the legacy PIC and PIT, and the
 * dispatcher every stub calls. */
#include "demo.h"

struct idt_entry {
  uint16_t offset_lo, selector;
  uint8_t ist, type_attr;
  uint16_t offset_mid;
  uint32_t offset_hi, zero;
} __attribute__((packed));

static struct idt_entry idt[48] __attribute__((aligned(16)));

void idt_init(void) {
  for (int v = 0; v < 48; v++) {
    uint64_t addr = (uint64_t)(isr_stub_table + 16 * v);
    idt[v] = (struct idt_entry){
        .offset_lo = (uint16_t)addr,
        .selector = KERNEL_CS,
        .ist = 0,
        .type_attr = 0x8e, /* present, ring 0, 64-bit interrupt gate (IF cleared on entry) */
        .offset_mid = (uint16_t)(addr >> 16),
        .offset_hi = (uint32_t)(addr >> 32),
        .zero = 0,
    };
  }
  struct {
    uint16_t limit;
    uint64_t base;
  } __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)idt};
  __asm__ volatile("lidt %0" ::"m"(idtr));
}

/* Remap the 8259 pair to vectors 32..47, unmask only IRQ0 (the PIT), and run
 * PIT channel 0 as a rate generator at `hz`. */
void pic_timer_init(uint64_t hz) {
  outb(0x20, 0x11);
  outb(0xa0, 0x11);
  outb(0x21, 32);
  outb(0xa1, 40);
  outb(0x21, 4);
  outb(0xa1, 2);
  outb(0x21, 0x01);
  outb(0xa1, 0x01);
  outb(0x21, 0xfe);
  outb(0xa1, 0xff);

  uint64_t divisor = 1193182 / (hz ? hz : 1);
  if (divisor < 1) divisor = 1;
  if (divisor > 65535) divisor = 65535;
  outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
  outb(0x40, (uint8_t)divisor);
  outb(0x40, (uint8_t)(divisor >> 8));
}

static uint64_t handle_divide_fault(struct frame* f) {
  if (f->rip != (uint64_t)checked_div_insn) demo_fatal("divide error outside checked_div", f);
  demo_div_faults++;
  f->rip = (uint64_t)checked_div_fixup;
  return (uint64_t)f;
}

uint64_t isr_dispatch(struct frame* f) {
  switch (f->vector) {
    case 0:
      return handle_divide_fault(f);
    case 32: {
      uint64_t next = sched_tick(f);
      outb(0x20, 0x20); /* EOI */
      return next;
    }
    default:
      if (f->vector >= 33 && f->vector < 48) { /* spurious or unexpected IRQ */
        if (f->vector >= 40) outb(0xa0, 0x20);
        outb(0x20, 0x20);
        return (uint64_t)f;
      }
      demo_fatal("unexpected exception", f);
  }
}
