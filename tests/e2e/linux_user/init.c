// /init of the user-space Linux guest (tests/e2e/trace_linux_user.sh):
// marks the start of the traced window with sync(), runs /hello twice, one
// process after the other, and powers off. Static, so it needs no loader.
#include <sys/reboot.h>
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
  sync();
  run("first");
  run("second");
  reboot(RB_POWER_OFF);
  return 0;
}
