/* nested_prog.c: GNU C nested functions for the symbolizer's oracle tests
   (tests/e2e/sym_inline_prog.sh): their DIEs lie inside another function's
   body while their code lies elsewhere, so a lookup that reads function
   bodies only on demand must still find them; and code is inlined into
   them. Built with gcc -O2 -g; never run for its output. Nested functions
   are called directly, not through pointers: no trampolines, no
   executable stack. */
#include <stdio.h>
#include <stdlib.h>

static inline int twice(int v) { return v * 2; }
static inline int add3(int a, int b, int c) { return a + twice(b) + c; }

int outer(int k) {
  int bias = k * 3;
  __attribute__((noinline)) int inner(int v) {
    int r = add3(v, bias, k);
    if (r > 1000) r = twice(r) - bias;
    return r ^ (v << 1);
  }
  __attribute__((noinline)) int deeper(int v) {
    int r = 0;
    for (int j = 0; j < v; ++j) r += inner(j) + add3(j, v, bias);
    return r;
  }
  int s = 0;
  for (int i = 0; i < k; ++i) s += inner(i) + deeper(i / 2);
  return s + add3(k, k, k);
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 10;
  printf("%d\n", outer(n));
  return 0;
}
