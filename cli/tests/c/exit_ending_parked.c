/* A detached thread that never allocated is parked inside glibc's thread-exit code just after
   its first allocator call, while main returns: the deterministic twin of the rare failure of
   `exit_while_thread_ends.c 64 niced` (lifecycle.md item 29).

   Eight joinable threads run at once, each allocating a block main keeps, and are joined, so
   glibc's stack cache holds as many of their stacks as its 40 MiB allow, each with its DTV
   (and under gpa their heaps, each holding a live block, are left for other threads to
   take). Then a detached thread with a bigger
   stack (no cached one fits it) starts, allocates nothing and returns. Ending, it puts its
   own stack in the cache, which then holds more than 40 MiB, and frees cached stacks with
   their DTVs (`__nptl_free_stacks`), with glibc's thread-exit mask on (every signal blocked
   but 33): that `free` is its first allocator call, and under gpa it takes over a heap the
   joined threads left. No
   exit hook of gpa's was ever set for it (gpa sets one at a thread's first heap, as a key
   destructor, and the destructors have run).

   usage: exit_ending_parked [traced]
   traced: a tracer process (ptrace, forked from main) single-steps the detached thread from
   its start until it has the thread-exit mask, has entered the preload library's code (gpa's
   `free`) and come back to the C library, prints "parked at OBJECT+OFFSET" and leaves it
   stopped there until the process ends. Main then returns: the exit scan's stop signal never
   reaches the thread (blocked, and the thread held), so the scan misses a thread that owns a
   heap. "ended unparked" when the thread ended first (no preload library: a native run),
   "SKIPPED: ptrace" when this system does not let the tracer attach.
   Untraced (how Valgrind runs it): main waits until the thread has ended, then returns.

   Valgrind 3.19 (`--leak-check=full`), untraced: no error, "still reachable: 192 bytes in 8
   blocks" (the joined threads' blocks), nothing lost.
   gpa before lifecycle.md item 29, traced: the DTVs of the cached stacks "possibly lost"
   (the missed thread was taken for one running on, and the DTV judgement was turned off). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define JOINED 8

static pthread_barrier_t together;
static int go_pipe[2], ready_pipe[2];

/* The joined threads' blocks, reachable to the end. */
static void *volatile kept[JOINED];

/* Allocates a block main keeps: under gpa the thread ends leaving a heap that holds a live
   block, for another thread to take. */
static void *joined(void *argument) {
    kept[(long)argument] = malloc(24);
    pthread_barrier_wait(&together);
    return argument;
}

/* Says its id, waits for the word, and returns: no allocation of its own. */
static void *ender(void *argument) {
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (write(ready_pipe[1], &tid, sizeof tid) != sizeof tid) abort();
    char go;
    if (read(go_pipe[0], &go, 1) != 1) abort();
    return argument;
}

#include "tracee_maps.h"

/* Whether thread `tid` has glibc's thread-exit mask: 32 blocked, 33 not. */
static int exit_mask(pid_t pid, pid_t tid) {
    if (read_task_status(pid, tid) < 0) return 0;
    const char *field = strstr(text, "SigBlk:");
    if (!field) return 0;
    unsigned long long mask = strtoull(field + 7, NULL, 16);
    return (mask >> 31 & 1) && !(mask >> 32 & 1);
}

/* The tracer (a child of main): attaches to the thread, tells main (which lets the thread
   go), steps it to its place (see the header), reports, and waits for the process to end. */
static void tracer(pid_t pid, const void *arg, int out) {
    pid_t tid = *(const pid_t *)arg;
    if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0 || ptrace(PTRACE_INTERRUPT, tid, NULL, NULL)) {
        dprintf(out, "SKIPPED: ptrace (%s)\n", strerror(errno));
        _exit(0);
    }
    int status;
    if (waitpid(tid, &status, __WALL) != tid || !WIFSTOPPED(status)) {
        dprintf(out, "SKIPPED: ptrace (no stop)\n");
        _exit(0);
    }
    read_mappings(pid);
    dprintf(out, "attached\n");
    int masked = 0;
    for (long taken = 0; taken < 50000000; ++taken) {
        struct user_regs_struct regs;
        if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) != 0) break;
        if (!masked) masked = exit_mask(pid, tid);
        errno = 0;
        unsigned long code = (unsigned long)ptrace(PTRACE_PEEKTEXT, tid, (void *)regs.rip, NULL);
        /* The thread's last instruction: `syscall` (0f 05) with SYS_exit in rax. */
        if (masked && !errno && (code & 0xffff) == 0x050f && regs.rax == SYS_exit) {
            const struct mapping *here = object_of(regs.rip);
            dprintf(out, "parked at %s+%#llx after %ld steps\n", here ? here->name : "?",
                    here ? regs.rip - here->base : 0, taken);
            close(out);
            /* Held stopped until the process's end kills it. */
            while (waitpid(tid, &status, __WALL) == tid && !WIFEXITED(status) &&
                   !WIFSIGNALED(status)) {
            }
            _exit(0);
        }
        if (ptrace(PTRACE_SINGLESTEP, tid, NULL, NULL) != 0 ||
            waitpid(tid, &status, __WALL) != tid || !WIFSTOPPED(status))
            break;
    }
    dprintf(out, "ended unparked\n");
    _exit(0);
}

int main(int argc, char **argv) {
    int traced = argc > 1 && strcmp(argv[1], "traced") == 0;
    if (pipe(go_pipe) || pipe(ready_pipe)) return 1;
    pthread_barrier_init(&together, NULL, JOINED);
    pthread_t threads[JOINED];
    for (long i = 0; i < JOINED; i++) pthread_create(&threads[i], NULL, joined, (void *)i);
    for (int i = 0; i < JOINED; i++) pthread_join(threads[i], NULL);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, 32 << 20);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    if (pthread_create(&thread, &attributes, ender, NULL)) return 1;
    pid_t tid;
    if (read(ready_pipe[0], &tid, sizeof tid) != sizeof tid) return 1;
    if (traced) {
        int report = fork_tracer(tracer, &tid);
        if (report < 0) return 1;
        char line[512];
        long got = read(report, line, sizeof line - 1);
        line[got > 0 ? got : 0] = 0;
        if (strncmp(line, "attached", 8)) {
            fputs(line, stdout);
            traced = 0;
        }
        if (write(go_pipe[1], "g", 1) != 1) return 1;
        if (traced) {
            /* The rest of the tracer's report: its last line. */
            long at = 0;
            while (at < (long)sizeof line - 1 && (got = read(report, line + at, sizeof line - 1 - at)) > 0)
                at += got;
            line[at] = 0;
            fputs(line, stdout);
        }
    } else if (write(go_pipe[1], "g", 1) != 1) {
        return 1;
    }
    if (!traced) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d", tid);
        for (int waited = 0; waited < 10000 && access(path, F_OK) == 0; waited++) sleep_ms(1);
    }
    puts("done");
    fflush(stdout);
    return 0;
}
