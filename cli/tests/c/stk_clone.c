/* Small stacks: a `clone()` child on a stack the program mapped itself, argv[1] bytes
 * (default 16 KiB; 8 KiB too). gpa knows nothing of this stack: its checks must not overflow
 * it. The child allocates and frees, writes one byte past a 20-byte block (a heap overflow),
 * frees it, and drops a 40-byte block (a leak). argv[2] chooses the flags:
 * * "thread" (default): a thread made by hand (CLONE_VM | CLONE_THREAD ..., no new TLS: it
 *   uses the parent's, which waits on the child's tid futex meanwhile).
 * * "vm": a process sharing the address space (CLONE_VM | SIGCHLD), waited for with waitpid.
 *   Valgrind 3.19 refuses this clone ("Valgrind has to exit now"): same verdict expected.
 * * "exit": a process of its own (SIGCHLD alone) that ends with `exit(0)` on that stack, so its
 *   exit report and leak scan run there.
 * Valgrind: 1 error (invalid write of size 1, 0 bytes after a block of size 20), definitely
 * lost 40 bytes in 1 block (with "exit": in the child, and still reachable, the unoptimized
 * frame that calls `exit` holding the pointer; the parent, 0 errors and no leak). */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;
static int calls_exit;
static volatile pid_t child_tid;

static int child(void *unused) {
    (void)unused;
    for (int i = 0; i < 100; i++) {
        char *block = malloc(16 + (size_t)i * 8);
        memset(block, i, 16);
        free(block);
    }
    char *small = malloc(20);
    memset(small, 'a', 20);
    small[20] = 'x'; /* one byte past the end (in glibc's slack) */
    free(small);
    char *dropped = malloc(40);
    memset(dropped, 'b', 40);
    sink = dropped;
    sink = NULL;
    if (calls_exit) exit(0);
    return 0;
}

int main(int argc, char **argv) {
    size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 16384;
    const char *how = argc > 2 ? argv[2] : "thread";
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) return 2;
    int thread = strcmp(how, "thread") == 0;
    calls_exit = strcmp(how, "exit") == 0;
    int flags = thread ? CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                             CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID
                       : (calls_exit ? 0 : CLONE_VM) | SIGCHLD;
    int pid = clone(child, stack + size, flags, NULL, &child_tid, NULL, &child_tid);
    if (pid < 0) {
        perror("clone");
        return 2;
    }
    int ok;
    if (thread) {
        /* the kernel clears child_tid and wakes this futex when the child ends */
        for (pid_t tid; (tid = child_tid) != 0;)
            syscall(SYS_futex, &child_tid, FUTEX_WAIT, tid, NULL, NULL, 0);
        ok = 1;
        printf("child on a %zu-byte stack (%s): ended\n", size, how);
    } else {
        int status = 0;
        if (waitpid(pid, &status, 0) != pid) return 2;
        ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        printf("child on a %zu-byte stack (%s): %s %d\n", size, how,
               WIFEXITED(status) ? "exit" : "signal",
               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    munmap(stack, size);
    return ok ? 0 : 1;
}
