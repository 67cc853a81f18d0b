/* cmdline.c: "ticks=N work=N seed=N hz=N" from the kernel command line.
 * Unknown words are reported and ignored, so a typo is visible in the log. */
#include "demo.h"

static int parse_u64(const char** s, uint64_t* out) {
  const char* p = *s;
  uint64_t v = 0;
  if (*p < '0' || *p > '9') return 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
  *s = p;
  *out = v;
  return 1;
}

void parse_cmdline(const char* cmdline, struct params* p) {
  static const struct {
    const char* key;
    size_t offset;
  } keys[] = {
      {"ticks=", offsetof(struct params, ticks)},
      {"work=", offsetof(struct params, work)},
      {"seed=", offsetof(struct params, seed)},
      {"hz=", offsetof(struct params, hz)},
  };
  const char* s = cmdline;
  while (s && *s) {
    while (*s == ' ') s++;
    if (!*s) break;
    int known = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
      size_t len = 0;
      while (keys[i].key[len]) len++;
      if (strncmp_prefix(s, keys[i].key)) {
        const char* v = s + len;
        uint64_t value;
        if (parse_u64(&v, &value) && (*v == ' ' || *v == 0)) {
          *(uint64_t*)((char*)p + keys[i].offset) = value;
          s = v;
          known = 1;
        }
        break;
      }
    }
    if (!known) {
      console_puts("demo: ignoring unknown or malformed parameter '");
      const char* e = s;
      while (*e && *e != ' ') e++;
      char one[2] = {0, 0};
      for (; s < e; s++) {
        one[0] = *s;
        console_puts(one);
      }
      console_puts("'\n");
    }
  }
}
