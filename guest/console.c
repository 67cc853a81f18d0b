/* console.c: output on COM1 (the 16550 at 0x3f8), polled. Every line the
 * guest prints is part of the recording's console log, which replays must
 * reproduce byte for byte. */
#include <stdarg.h>

#include "demo.h"

#define COM1 0x3f8

void console_init(void) {
  outb(COM1 + 1, 0x00); /* no UART interrupts: we poll */
  outb(COM1 + 3, 0x80); /* DLAB on */
  outb(COM1 + 0, 0x01); /* 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
  outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
}

static void putc_raw(char c) {
  while (!(inb(COM1 + 5) & 0x20)) {
  }
  outb(COM1, (uint8_t)c);
}

void console_puts(const char* s) {
  for (; *s; s++) {
    if (*s == '\n') putc_raw('\r');
    putc_raw(*s);
  }
}

void console_putu(uint64_t v) {
  char buf[21];
  int i = 20;
  buf[i] = 0;
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  console_puts(&buf[i]);
}

void console_puthex(uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  char buf[19];
  int i = 18;
  buf[i] = 0;
  do {
    buf[--i] = digits[v & 15];
    v >>= 4;
  } while (v);
  buf[--i] = 'x';
  buf[--i] = '0';
  console_puts(&buf[i]);
}

void console_printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char one[2] = {0, 0};
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      one[0] = *fmt;
      console_puts(one);
      continue;
    }
    switch (*++fmt) {
      case 's': console_puts(va_arg(ap, const char*)); break;
      case 'u': console_putu(va_arg(ap, uint64_t)); break;
      case 'x': console_puthex(va_arg(ap, uint64_t)); break;
      case '%': console_puts("%"); break;
      default: console_puts("?"); break;
    }
  }
  va_end(ap);
}
