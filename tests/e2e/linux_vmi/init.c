// /init of the VMI Linux guest (tests/e2e/vmi_linux.sh): prints its own
// view of the machine from /proc and uname(), the oracle tt_vmi's answers
// are checked against, then calls sync() (the point the test stops at)
// and powers off. Static, so it needs no loader.
//
//   task TID TGID PPID KTHREAD COMM    every thread, from /proc/PID/task/TID/stat
//   release R                          uname -r
//   module LINE                        each line of /proc/modules
//   VMI-SYNC                           just before sync()
//
// The task list is read until two reads in a row agree, so a kernel thread
// that comes or goes while it is read does not make the view half old.
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define PF_KTHREAD 0x00200000

static int numeric(const char* s) {
  if (!*s) return 0;
  for (; *s; ++s)
    if (!isdigit((unsigned char)*s)) return 0;
  return 1;
}

// Appends "task TID TGID PPID KTHREAD COMM\n" for one /proc/PID/task/TID/stat.
static void one_task(const char* pid, const char* tid, char* out, size_t cap) {
  char path[128], buf[1024];
  snprintf(path, sizeof path, "/proc/%s/task/%s/stat", pid, tid);
  FILE* f = fopen(path, "r");
  if (!f) return;  // gone meanwhile
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char* open = strchr(buf, '(');
  char* close = strrchr(buf, ')');
  if (!open || !close) return;
  *close = 0;
  char state;
  long ppid;
  unsigned long flags;
  // after comm: state ppid pgrp session tty_nr tpgid flags
  if (sscanf(close + 2, "%c %ld %*d %*d %*d %*d %lu", &state, &ppid, &flags) != 3) return;
  size_t len = strlen(out);
  snprintf(out + len, cap - len, "task %s %s %ld %d %s\n", tid, pid, ppid, (flags & PF_KTHREAD) ? 1 : 0, open + 1);
}

static void tasks(char* out, size_t cap) {
  out[0] = 0;
  DIR* proc = opendir("/proc");
  if (!proc) return;
  struct dirent* p;
  while ((p = readdir(proc))) {
    if (!numeric(p->d_name)) continue;
    char path[128];
    snprintf(path, sizeof path, "/proc/%s/task", p->d_name);
    DIR* task = opendir(path);
    if (!task) continue;
    struct dirent* t;
    while ((t = readdir(task)))
      if (numeric(t->d_name)) one_task(p->d_name, t->d_name, out, cap);
    closedir(task);
  }
  closedir(proc);
}

int main(void) {
  static char a[1 << 16], b[1 << 16];
  mkdir("/proc", 0555);
  if (mount("proc", "/proc", "proc", 0, 0) != 0) perror("mount /proc");
  struct utsname u;
  uname(&u);
  printf("release %s\n", u.release);
  FILE* m = fopen("/proc/modules", "r");
  char line[512];
  while (m && fgets(line, sizeof line, m)) printf("module %s", line);
  if (m) fclose(m);
  tasks(a, sizeof a);
  for (int i = 0; i < 20; ++i) {
    tasks(b, sizeof b);
    if (strcmp(a, b) == 0) break;
    memcpy(a, b, sizeof a);
  }
  fputs(a, stdout);
  printf("VMI-SYNC\n");
  fflush(stdout);
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
