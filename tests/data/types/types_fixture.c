/* types_fixture.c: globals of every kind of C type that VMI's typed reads
 * handle, with initial values written here, so the unit tests
 * (tests/unit/types_*_test.cc) know what `print` must show without running
 * anything: they read the values back from this program's own .data and
 * .rodata. Built with gcc -g -O0, never run. */
#include <stdint.h>

typedef unsigned long u64;
typedef int int_alias_t;

enum color { RED, GREEN = 5, BLUE = -1 };

struct list_head {
  struct list_head *next, *prev;
};

struct item {
  int id;
  const char *name;
  struct list_head link;
};

struct bits {
  unsigned int a : 3;
  signed int b : 5;
  unsigned int c : 24;
  _Bool flag : 1;
  unsigned long long wide : 40;
};

union word {
  uint32_t value;
  unsigned char bytes[4];
};

struct inner {
  short s;
  char tag;
};

struct opaque; /* declared, never defined */

struct outer {
  int i;
  unsigned char uc;
  char name[8];
  struct inner in;
  struct inner pair[2];
  int grid[2][3];
  union word un;
  enum color col;
  struct bits bf;
  struct {
    int x, y;
  };
  u64 big;
  double ratio;
  float f;
  _Bool ok;
  struct outer *self;
  void (*callback)(void);
  const char *msg;
  struct opaque *hidden;
};

struct flex {
  int n;
  int data[];
};

void fixture_callback(void) {}
void _start(void) {}

int answer = 42;
long negative = -7;
int_alias_t aliased = 9;
const char greeting[] = "hello\tworld\n";
char buf[32] = "hi";
char dots[4] = {'.', '.', '.', '.'};
enum color favourite = GREEN;
enum color odd_color = (enum color)3;
u64 counters[3] = {1, 2, 3};
int seq[256] = {1, 2, 3};
#define R4(b) b, b + 1, b + 2, b + 3
#define R16(b) R4(b), R4(b + 4), R4(b + 8), R4(b + 12)
#define R64(b) R16(b), R16(b + 16), R16(b + 32), R16(b + 48)
int ramp[256] = {R64(0), R64(64), R64(128), R64(192)};
struct flex flex_obj = {2, {10, 20}};
__attribute__((section(".data..percpu"))) int cpu_counter = 5;

struct outer sample = {
    .i = -3,
    .uc = 200,
    .name = "abc",
    .in = {.s = -2, .tag = 'q'},
    .pair = {{1, 'a'}, {2, 'b'}},
    .grid = {{1, 2, 3}, {4, 5, 6}},
    .un = {.value = 0x64636261},
    .col = BLUE,
    .bf = {.a = 5, .b = -6, .c = 0xabcdef, .flag = 1, .wide = 0x123456789aULL},
    .x = 10,
    .y = 20,
    .big = 0xfedcba9876543210UL,
    .ratio = 2.5,
    .f = 0.25f,
    .ok = 1,
    .self = &sample,
    .callback = fixture_callback,
    .msg = "message",
    .hidden = 0,
};
struct outer *sample_ptr = &sample;
struct outer *null_ptr = 0;
void *void_ptr = &answer;

/* A list as the kernel keeps them: a head, entries linked through a member. */
struct list_head items_head;
struct item items[3] = {
    {1, "one", {&items[1].link, &items_head}},
    {2, "two", {&items[2].link, &items[0].link}},
    {3, "three", {&items_head, &items[1].link}},
};
struct list_head items_head = {&items[0].link, &items[2].link};
struct list_head empty_head = {&empty_head, &empty_head};

/* Hostile lists: a cycle that never returns to its head; a NULL link. */
struct item loop_items[2];
struct list_head loop_head = {&loop_items[0].link, &loop_items[1].link};
struct item loop_items[2] = {
    {7, "a", {&loop_items[1].link, &loop_head}},
    {8, "b", {&loop_items[0].link, &loop_items[0].link}},
};
struct item broken_items[1];
struct list_head broken_head = {&broken_items[0].link, &broken_items[0].link};
struct item broken_items[1] = {{9, "x", {0, &broken_head}}};

/* Declared only, as the kernel's `jiffies`: the linker defines it
 * (--defsym=alias_counter=counters), DWARF has only its type. */
extern volatile u64 alias_counter;
u64 read_alias(void) { return alias_counter; }

/* Defined in types_nodebug.c, compiled without -g. */
extern const char unsized_text[];
const char* read_unsized(void) { return unsized_text; }

/* As a kernel's: CPU N's copy of a per-CPU variable is at its address in
 * .data..percpu plus __per_cpu_offset[N]. */
unsigned long __per_cpu_offset[2] = {0, 0x10};

/* A GNU zero-length array, as the kernel's `u8 extended_state_area[0]`. */
struct zero {
  int n;
  char tail[0];
};
struct zero zero_obj = {7};
