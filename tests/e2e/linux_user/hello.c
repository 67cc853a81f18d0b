// /hello of the user-space Linux guest: a dynamically linked PIE, so two
// runs map it, ld.so and libc at different addresses (ASLR) over the same
// physical pages. It does work in libc that branches back into its own
// code (qsort's comparisons), then prints the executable ranges of every
// object it has mapped, so the test knows where this run's code really is,
// and its memory map as the kernel shows it (/proc/self/maps), each line
// prefixed "maps TAG", for tt_vmi's maps to be checked against.
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
#include <stdlib.h>

static const char* tag = "?";

static int cmp(const void* a, const void* b) { return *(const int*)a - *(const int*)b; }

static int print_object(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size, (void)data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
      unsigned long lo = info->dlpi_addr + ph->p_vaddr;
      printf("code %s %#lx %#lx %s\n", tag, lo, lo + ph->p_memsz, info->dlpi_name[0] ? info->dlpi_name : "/hello");
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1) tag = argv[1];
  int v[256];
  for (int i = 0; i < 256; i++) v[i] = (i * 7919) % 256;
  qsort(v, 256, sizeof v[0], cmp);
  printf("hello %s: sorted=%d\n", tag, v[255]);
  dl_iterate_phdr(print_object, 0);
  fflush(stdout);
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[512];
  while (maps && fgets(line, sizeof line, maps)) printf("maps %s %s", tag, line);
  if (maps) fclose(maps);
  fflush(stdout);
  return 0;
}
