/* lib.c: the few library routines a freestanding kernel needs. memcpy and
 * memset are string instructions on purpose: rep movs/stos iterate at one
 * instruction address, a known trap for branch counting that xentt's tracer
 * must get right. */
#include "demo.h"

void* memcpy(void* dst, const void* src, size_t n) {
  void* ret = dst;
  __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
  return ret;
}

void* memset(void* dst, int c, size_t n) {
  void* ret = dst;
  __asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
  return ret;
}

void zero_qwords(void* dst, size_t nqwords) {
  __asm__ volatile("rep stosq" : "+D"(dst), "+c"(nqwords) : "a"(0ul) : "memory");
}

int strncmp_prefix(const char* s, const char* prefix) {
  while (*prefix) {
    if (*s++ != *prefix++) return 0;
  }
  return 1;
}
