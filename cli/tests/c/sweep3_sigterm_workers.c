/* A pool of forked workers stopped by SIGTERM, as Python's multiprocessing.Pool stops its
 * workers (Pool.terminate) and Chromium's browser stops its renderers: each worker holds a
 * block only it points to (a leak once the signal ends it) and one a global points to
 * (still reachable), then waits; the parent sends SIGTERM to each, reaps them and exits
 * cleanly. Valgrind 3.19 checks every worker at the fatal signal: 100 bytes definitely lost
 * in 1 block and 200 still reachable in 1 block per worker; the parent frees everything.
 * (docs/sweeps/servers.md) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *kept;

static void work(int fd) {
    char *lost = malloc(100);
    memset(lost, 'l', 100);
    kept = malloc(200);
    memset(kept, 'k', 200);
    lost = NULL; /* the only pointer gone: definitely lost when the worker ends */
    char ready = 'r';
    if (write(fd, &ready, 1) != 1) _exit(3);
    for (;;) pause();
}

int main(void) {
    pid_t workers[2];
    for (int i = 0; i < 2; i++) {
        int fds[2];
        if (pipe(fds) != 0) return 1;
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) {
            close(fds[0]);
            work(fds[1]);
        }
        close(fds[1]);
        char ready;
        if (read(fds[0], &ready, 1) != 1) return 2;
        close(fds[0]);
        workers[i] = pid;
    }
    int killed = 0;
    for (int i = 0; i < 2; i++) {
        kill(workers[i], SIGTERM);
        int status;
        if (waitpid(workers[i], &status, 0) == workers[i] && WIFSIGNALED(status) &&
            WTERMSIG(status) == SIGTERM)
            killed++;
    }
    printf("%d workers ended by SIGTERM\n", killed);
    return killed == 2 ? 0 : 1;
}
