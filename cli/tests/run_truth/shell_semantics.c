/* What glibc's `system` and `popen` promise, printed one line a check, after `clearenv()`
 * (`shell_semantics clear`: gpa puts its settings back and, for `system`, runs its own copy of
 * glibc's steps) or with the environment as it came (`shell_semantics kept`: glibc's own
 * functions). The output must be the same without gpa and under `gpa run`; it allocates
 * nothing it does not free. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;
static void on_interrupt(int signal) { (void)signal; interrupted = 1; }

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "clear")) clearenv();
    setvbuf(stdout, NULL, _IONBF, 0);

    /* system: the shell's status, NULL asks whether a shell exists. */
    int status = system("exit 3");
    printf("system exit 3: exited %d status %d\n", WIFEXITED(status), WEXITSTATUS(status));
    printf("system NULL: %d\n", system(NULL) != 0);
    status = system("kill -TERM $$");
    printf("system killed: signaled %d signal %d\n", WIFSIGNALED(status), WTERMSIG(status));

    /* SIGINT is ignored in the caller while the shell runs, its handler back after. */
    struct sigaction handler = {0}, seen;
    handler.sa_handler = on_interrupt;
    sigaction(SIGINT, &handler, NULL);
    status = system("kill -INT $PPID; exit 0");
    sigaction(SIGINT, NULL, &seen);
    printf("SIGINT during system: %d, handler back: %d, status %d\n", interrupted,
           seen.sa_handler == on_interrupt, WEXITSTATUS(status));
    /* The shell gets the default action for SIGINT (not the caller's ignoring). */
    status = system("kill -INT $$; exit 0");
    printf("shell's SIGINT: signaled %d signal %d\n", WIFSIGNALED(status), WTERMSIG(status));
    /* SIGCHLD is blocked while the shell runs; the caller's mask is back after. */
    sigset_t mask;
    status = system("kill -CHLD $PPID; exit 0");
    sigprocmask(SIG_SETMASK, NULL, &mask);
    printf("SIGCHLD blocked after: %d\n", sigismember(&mask, SIGCHLD));

    /* popen "r": the command's output, pclose its status. */
    char line[256] = "";
    FILE *from = popen("echo hello; exit 5", "r");
    if (!fgets(line, sizeof line, from)) strcpy(line, "(nothing)\n");
    status = pclose(from);
    printf("popen r: %s", line);
    printf("pclose: exited %d status %d\n", WIFEXITED(status), WEXITSTATUS(status));

    /* popen "w": what the caller writes is the command's input. */
    char path[] = "/tmp/gpa-shell-semantics-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    char command[128];
    snprintf(command, sizeof command, "cat > %s", path);
    FILE *to = popen(command, "w");
    fputs("written\n", to);
    status = pclose(to);
    FILE *back = fopen(path, "r");
    if (!fgets(line, sizeof line, back)) strcpy(line, "(nothing)\n");
    fclose(back);
    unlink(path);
    printf("popen w: %s", line);
    printf("pclose w: %d\n", WEXITSTATUS(status));

    /* Modes: "e" sets close-on-exec on the caller's end, others are refused with EINVAL. */
    FILE *plain = popen("true", "r");
    FILE *cloexec = popen("true", "re");
    printf("close-on-exec: r %d, re %d\n", fcntl(fileno(plain), F_GETFD) & FD_CLOEXEC,
           fcntl(fileno(cloexec), F_GETFD) & FD_CLOEXEC);
    /* POSIX: streams of earlier popen calls still open are closed in the new child. */
    snprintf(command, sizeof command, "test -e /proc/$$/fd/%d && echo open || echo closed",
             fileno(plain));
    FILE *third = popen(command, "r");
    if (!fgets(line, sizeof line, third)) strcpy(line, "(nothing)\n");
    printf("earlier stream in the child: %s", line);
    pclose(third);
    pclose(cloexec);
    pclose(plain);
    const char *bad[] = {"rw", "x", "", "wr"};
    for (int i = 0; i < 4; i++) {
        errno = 0;
        FILE *refused = popen("true", bad[i]);
        printf("popen \"%s\": %s errno %s\n", bad[i], refused ? "stream" : "NULL",
               errno == EINVAL ? "EINVAL" : "other");
        if (refused) pclose(refused);
    }
    return 0;
}
