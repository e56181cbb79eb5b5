/* Parks threads at chosen instructions inside one allocator call while the main thread
   returns from main, so that the exit-time leak scan stops each of them exactly there: the
   deterministic twin of exit_scan_churn.c.

   usage: exit_scan_stepped HOW [FIRST [THREADS]]
   HOW: the call each of THREADS threads (1 unless given) makes once (see `call` below).
   Without FIRST, or with "-", the threads make it and wait, untraced (how Valgrind runs it). With FIRST, a tracer process (ptrace, forked
   from main) single-steps thread i from just before its call for FIRST + i instructions
   (its own code setting up the call, the PLT stub, the allocator, the C library's code the
   allocator calls), leaves it there and prints one line per thread: "thread I step K at
   ADDRESS in OBJECT+OFFSET", or "thread I returned after N steps" when the call ended
   first. Main then returns; once the scan's stop signal is pending for a parked thread, the
   tracer lets it go, and the signal interrupts it at that instruction. FIRST "count":
   "steps N", the instructions of thread 0's call, untraced threads otherwise.

   The program holds each block only where C code holds it: `take` empties the variable
   before a call that frees (the pointer is then only in the argument register), and a
   call's result is stored when it returns. Valgrind 3.19 on every HOW, untraced: no error;
   the threads' own DTVs possibly lost (allocate_dtv by pthread_create), nothing definitely
   lost (it runs the allocator as one step of the thread). "SKIPPED: ptrace" when this
   system does not let the tracer attach. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
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

#ifdef WITH_NEW
void *_Znwm(unsigned long size);
void *_Znam(unsigned long size);
void _ZdlPv(void *block);
void _ZdaPv(void *block);
#endif
/* glibc 2.36 has no free_sized (C23): gpa exports it; elsewhere `free` stands in. */
extern void free_sized(void *block, size_t size) __attribute__((weak));

#define MAX_THREADS 64

static const char *how;
static int traced;
static __thread int armed; /* this thread's next call is the traced one */
static int go_pipe[2], ready_pipe[2];
static void *volatile kept[MAX_THREADS];

/* The pointer in `*slot`, which is emptied: the caller's argument register holds it alone. */
static void *take(void *volatile *slot) {
    void *block = *slot;
    *slot = NULL;
    return block;
}

static void stop_here(void) {
    if (traced && armed) __asm__ volatile("int3");
}

/* Whether `how` is one of `names` (a list ending in null). */
static int one_of(const char *const *names) {
    for (; *names; ++names)
        if (!strcmp(how, *names)) return 1;
    return 0;
}

/* The block the call consumes, made before the tracer starts (null for an allocation). */
static void *before(void) {
    static const char *const small[] = {"realloc", "realloc_zero", "free", "free_sized", NULL};
    static const char *const large[] = {"realloc_large", "free_large", NULL};
    if (one_of(small)) return malloc(24);
    if (one_of(large)) return malloc(150000);
#ifdef WITH_NEW
    if (!strcmp(how, "delete")) return _Znwm(64);
    if (!strcmp(how, "delete_array")) return _Znam(100);
#endif
    return NULL;
}

/* Releases what the call left (the warm-up's). */
static void release(void *block) {
#ifdef WITH_NEW
    if (!strcmp(how, "new")) return _ZdlPv(block);
    if (!strcmp(how, "new_array")) return _ZdaPv(block);
#endif
    free(block);
}

/* The call, right after `stop_here`: each in the shape `kept[i] = call(...)`. */
static void call(void *volatile *slot) {
    if (!strcmp(how, "malloc")) {
        stop_here();
        *slot = malloc(300);
    } else if (!strcmp(how, "large")) {
        stop_here();
        *slot = malloc(200000);
    } else if (!strcmp(how, "calloc")) {
        stop_here();
        *slot = calloc(1, 300);
    } else if (!strcmp(how, "realloc")) {
        stop_here();
        *slot = realloc(take(slot), 300);
    } else if (!strcmp(how, "realloc_large")) {
        stop_here();
        *slot = realloc(take(slot), 300000);
    } else if (!strcmp(how, "realloc_null")) {
        stop_here();
        *slot = realloc(NULL, 300);
    } else if (!strcmp(how, "realloc_zero")) {
        stop_here();
        *slot = realloc(take(slot), 0);
    } else if (!strcmp(how, "aligned")) {
        stop_here();
        *slot = aligned_alloc(64, 192);
    } else if (!strcmp(how, "memalign")) {
        stop_here();
        posix_memalign((void **)slot, 4096, 100);
    } else if (!strcmp(how, "free") || !strcmp(how, "free_large")) {
        stop_here();
        free(take(slot));
    } else if (!strcmp(how, "free_sized")) {
        stop_here();
        if (free_sized) free_sized(take(slot), 24);
        else free(take(slot));
#ifdef WITH_NEW
    } else if (!strcmp(how, "new")) {
        stop_here();
        *slot = _Znwm(64);
    } else if (!strcmp(how, "new_array")) {
        stop_here();
        *slot = _Znam(100);
    } else if (!strcmp(how, "delete")) {
        stop_here();
        _ZdlPv(take(slot));
    } else if (!strcmp(how, "delete_array")) {
        stop_here();
        _ZdaPv(take(slot));
#endif
    } else {
        fprintf(stderr, "unknown HOW %s\n", how);
        exit(2);
    }
}

static void *worker(void *arg) {
    uintptr_t index = (uintptr_t)arg;
    /* Round 0 warms up (the PLT resolved, the heap made, the unwinder's caches filled for
       this very call site); round 1 is the call the tracer steps through. */
    for (int round = 0;; ++round) {
        kept[index] = before();
        if (round == 1) {
            pid_t tid = (pid_t)syscall(SYS_gettid);
            if (write(ready_pipe[1], &tid, sizeof tid) != sizeof tid) abort();
            char go;
            if (read(go_pipe[0], &go, 1) != 1) abort();
            armed = 1;
        }
        call(&kept[index]);
        if (round == 1) break;
        release(take(&kept[index]));
    }
    for (;;) pause();
    return arg;
}

#include "tracee_maps.h"

/* Whether thread `tid` of `pid` has a signal pending. */
static int signal_pending(pid_t pid, pid_t tid) {
    if (read_task_status(pid, tid) < 0) return 1;
    for (const char *field = text; (field = strstr(field, "Pnd:")); field += 4) {
        unsigned long long mask = strtoull(field + 4, NULL, 16);
        if (mask) return 1;
    }
    return 0;
}

/* Single-steps `tid` (stopped after its int3) `steps` times, or until its call returned (back
   in the executable after leaving it) when `steps` is negative; writes what it did to `out`. */
static void step(pid_t tid, int index, long steps, int out) {
    struct user_regs_struct regs;
    ptrace(PTRACE_GETREGS, tid, NULL, &regs);
    const struct mapping *exe = object_of(regs.rip);
    int left = 0;
    for (long taken = 0;; ++taken) {
        ptrace(PTRACE_GETREGS, tid, NULL, &regs);
        const struct mapping *here = object_of(regs.rip);
        if (here != exe) left = 1;
        if (left && here == exe) {
            if (steps < 0) dprintf(out, "steps %ld\n", taken);
            else dprintf(out, "thread %d returned after %ld steps\n", index, taken);
            return;
        }
        if (steps >= 0 && taken == steps) {
            dprintf(out, "thread %d step %ld at %#llx in %s+%#llx\n", index, taken, regs.rip,
                    here ? here->name : "?", here ? regs.rip - here->base : 0);
            return;
        }
        int status;
        if (ptrace(PTRACE_SINGLESTEP, tid, NULL, NULL) != 0 ||
            waitpid(tid, &status, __WALL) != tid || !WIFSTOPPED(status)) {
            dprintf(out, "thread %d: stepping failed at step %ld\n", index, taken);
            return;
        }
    }
}

/* The tracer (a child of main): attaches to each thread, tells main, steps each to its
   instruction, reports, then lets each go once a signal is pending for it. */
/* What main hands the tracer: the threads' ids, their count, and the first's step (or -1). */
struct parking {
    const pid_t *tids;
    int count;
    long first;
};

static void tracer(pid_t pid, const void *arg, int out) {
    const struct parking *parking = arg;
    const pid_t *tids = parking->tids;
    int count = parking->count;
    long first = parking->first;
    for (int i = 0; i < count; ++i) {
        if (ptrace(PTRACE_SEIZE, tids[i], NULL, NULL) != 0) {
            dprintf(out, "SKIPPED: ptrace (%s)\n", strerror(errno));
            _exit(0);
        }
    }
    read_mappings(pid);
    dprintf(out, "attached\n");
    for (int i = 0; i < count; ++i) {
        int status;
        /* Its int3's SIGTRAP; single-stepping with no signal discards it. */
        if (waitpid(tids[i], &status, __WALL) != tids[i] || !WIFSTOPPED(status) ||
            WSTOPSIG(status) != SIGTRAP) {
            dprintf(out, "thread %d: no stop at its int3\n", i);
            continue;
        }
        step(tids[i], i, first < 0 ? -1 : first + i, out);
    }
    dprintf(out, "parked\n");
    close(out);
    int left = count;
    int gone[MAX_THREADS] = {0};
    for (int waited = 0; left > 0 && waited < 10000; ++waited) {
        for (int i = 0; i < count; ++i) {
            if (!gone[i] && signal_pending(pid, tids[i])) {
                ptrace(PTRACE_DETACH, tids[i], NULL, NULL);
                gone[i] = 1;
                --left;
            }
        }
        sleep_ms(1);
    }
    for (int i = 0; i < count; ++i)
        if (!gone[i]) ptrace(PTRACE_DETACH, tids[i], NULL, NULL);
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s HOW [FIRST|count|- [THREADS]]\n", argv[0]);
        return 2;
    }
    how = argv[1];
    long first = -1;
    int count = 1;
    if (argc > 2 && strcmp(argv[2], "-")) first = strcmp(argv[2], "count") ? atol(argv[2]) : -2;
    if (argc > 3) count = atoi(argv[3]);
    if (count < 1 || count > MAX_THREADS) return 2;
    traced = first != -1;
    if (pipe(go_pipe) || pipe(ready_pipe)) return 1;
    pid_t tids[MAX_THREADS];
    for (int i = 0; i < count; ++i) {
        pthread_t thread;
        pthread_create(&thread, NULL, worker, (void *)(uintptr_t)i);
        if (read(ready_pipe[0], &tids[i], sizeof tids[i]) != sizeof tids[i]) return 1;
    }
    if (traced) {
        struct parking parking = {tids, count, first == -2 ? -1 : first};
        int report = fork_tracer(tracer, &parking);
        if (report < 0) return 1;
        FILE *in = fdopen(report, "r");
        char line[512];
        if (!fgets(line, sizeof line, in)) return 1;
        if (strncmp(line, "attached", 8)) {
            fputs(line, stdout);
            traced = 0;
        }
        for (int i = 0; i < count; ++i)
            if (write(go_pipe[1], "g", 1) != 1) return 1;
        while (traced && fgets(line, sizeof line, in) && strcmp(line, "parked\n"))
            fputs(line, stdout);
        fclose(in);
    } else {
        for (int i = 0; i < count; ++i)
            if (write(go_pipe[1], "g", 1) != 1) return 1;
        sleep_ms(50);
    }
    puts("done");
    fflush(stdout);
    return 0;
}
