/* Starts a fork-like child without glibc's fork: argv[1] "clone" (glibc's clone() with
 * SIGCHLD only, no CLONE_VM, on a stack of its own) or "syscall" (syscall(SYS_clone,
 * SIGCHLD, 0, 0, 0, 0): the child returns on the parent's stack, as from fork). The child
 * leaks 64 bytes and exits with exit(5); the parent waits, leaks 8 bytes, exits 0.
 * "return": as "clone", but the child's function returns 5 (glibc's clone wrapper then ends
 * the child with the raw exit system call). */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static int child_main(void *arg) {
    (void)arg;
    char *lost = malloc(64);
    memset(lost, 7, 64);
    lost = NULL;
    printf("child runs\n");
    if (arg) {
        fflush(stdout);
        return 5;
    }
    exit(5);
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    fflush(stdout);
    pid_t pid;
    if (!strcmp(argv[1], "clone") || !strcmp(argv[1], "return")) {
        /* 1 MiB: gpa's code runs on this stack too (a debug build's frames are large). */
        static char stack[1 << 20] __attribute__((aligned(16)));
        pid = clone(child_main, stack + sizeof stack, SIGCHLD,
                    strcmp(argv[1], "return") ? NULL : argv[1]);
    } else {
        pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (pid == 0) child_main(NULL);
    }
    if (pid < 0) { perror("clone"); return 1; }
    int status;
    waitpid(pid, &status, 0);
    char *lost = malloc(8);
    memset(lost, 8, 8);
    lost = NULL;
    printf("parent: child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
