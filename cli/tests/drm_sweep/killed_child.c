/* After Dr. Memory's tests/procterm.c (DynamoRIO/drmemory): the parent writes one byte past a
 * 3-byte block, then kills (SIGKILL) a forked child that leaked 42 bytes from three calls deep
 * and waits, blocked, to be killed. Written for gpa; no upstream code. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void *__attribute__((noinline)) helper2(void) { return malloc(42); }
static void *__attribute__((noinline)) helper1(void) { return helper2(); }

int main(void) {
    int fds[2];
    char buf = 0;
    if (pipe(fds) == -1)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        helper1();
        write(fds[1], &buf, 1);
        for (int i = 0; i < 12; i++)
            sleep(5);
        return 0;
    }
    close(fds[1]);
    char *alloc = malloc(3);
    alloc[3] = 1; /* line 29: write 1 byte past a 3-byte block */
    free(alloc);
    if (read(fds[0], &buf, 1) <= 0)
        return 1;
    kill(child, SIGKILL);
    int status;
    wait(&status);
    fprintf(stderr, "child ended by signal %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return 0;
}
