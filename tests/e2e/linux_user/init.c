// /init of the user-space Linux guest (tests/e2e/trace_linux_user.sh):
// marks the start of the traced window with sync(), runs /hello twice, one
// process after the other, and powers off. Static, so it needs no loader.
// /proc is mounted first, for /hello to print its own memory map.
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void run(const char* tag) {
  pid_t pid = fork();
  if (pid == 0) {
    char* argv[] = {"/hello", (char*)tag, 0};
    char* envp[] = {0};
    execve(argv[0], argv, envp);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
}

int main(void) {
  mkdir("/proc", 0555);
  mount("proc", "/proc", "proc", 0, 0);
  sync();
  run("first");
  run("second");
  reboot(RB_POWER_OFF);
  return 0;
}
