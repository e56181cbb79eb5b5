/* After Dr. Memory's tests/clone.c (DynamoRIO/drmemory): a thread made with clone (CLONE_VM |
 * CLONE_THREAD, no CLONE_SETTLS: it shares main's thread pointer) on a stack from mmap with a
 * guard page, printing, waited for through CLONE_CHILD_CLEARTID; main allocates before and
 * after. Written for gpa; no upstream code. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STACK (256 * 1024)

static volatile pid_t child;
static volatile int child_exit, child_done;

static int run(void *arg) {
    (void)arg;
    fprintf(stderr, "sideline thread started\n");
    while (!child_exit) {
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
    fprintf(stderr, "sideline thread finished\n");
    child_done = 1;
    syscall(SYS_exit, 0);
    return 0;
}

int main(void) {
    char *before = malloc(40);
    char *guard = mmap(NULL, STACK + 4096, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                       -1, 0);
    mprotect(guard, 4096, PROT_NONE);
    int flags = SIGCHLD | CLONE_THREAD | CLONE_VM | CLONE_CHILD_CLEARTID | CLONE_FS |
                CLONE_FILES | CLONE_SIGHAND | CLONE_PARENT_SETTID;
    pid_t tid = clone(run, guard + 4096 + STACK, flags, NULL, (pid_t *)&child, NULL,
                      (pid_t *)&child);
    if (tid == -1) {
        perror("clone");
        return 1;
    }
    struct timespec t = {0, 10000000};
    nanosleep(&t, NULL);
    child_exit = 1;
    while (child != 0)
        nanosleep(&t, NULL);
    fprintf(stderr, "child has exited (done %d)\n", child_done);
    munmap(guard, STACK + 4096);
    char *after = malloc(40);
    free(before);
    free(after);
    printf("all done\n");
    return 0;
}
