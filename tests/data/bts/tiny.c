/* tiny.c: the smallest ELF with a symbol table, DWARF lines and an inline
 * frame, built -O2 -g -nostdlib -static: the seed of the symbol-file fuzzer
 * and the input of the "no symbols" test (after strip). */
static inline int twice(int v) { return v + v; }

int counter;

__attribute__((noinline)) int bump(int by) {
  counter += twice(by);
  return counter;
}

void _start(void) {
  for (;;) bump(3);
}
