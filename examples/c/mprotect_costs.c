/* What one sampled block of sampled guard mode costs the kernel, operation by operation, on
 * the machine it runs on (docs/performance.md, "Sampled guard mode: the kernel's floor").
 *
 * It builds slot pools like gpa's (src/gpa/guarded/area/pool.rs): 256 slots of a data page and
 * a guard page, opened sixteen at a time. Guard pages are guard markers (MADV_GUARD_INSTALL,
 * Linux 6.13), which survive mprotect. Each slot is a mapping of its own, so that closing one
 * changes one mapping's flags and never splits or merges mappings; two ways of keeping them
 * apart are compared:
 *   alternating  neighbours alternate MADV_HUGEPAGE and MADV_NOHUGEPAGE (what gpa does)
 *   memfd        each slot maps its own pages of a memfd MAP_SHARED, at file offsets that are
 *                not contiguous (file-backed mappings never merge with anonymous ones, nor
 *                with each other when their offsets do not follow on)
 * and, for comparison, closing one page inside a larger mapping (split, then merge again).
 *
 * Times are CPU time of the calling thread per operation (the median of the rounds):
 *   getppid               the bare system call
 *   noop mprotect         an mprotect that changes nothing
 *   close                 a slot to PROT_NONE (its data page touched first, as a block would)
 *   reopen, per slot      a chunk of sixteen closed slots back to read-write (one mprotect),
 *                         divided by sixteen
 *   split close + merge   one page inside a larger mapping to PROT_NONE and back
 *   guard marker          MADV_GUARD_INSTALL then MADV_GUARD_REMOVE on a touched page
 * Then, with a second thread of the same process running on the other CPU (both pinned), so
 * that every close must flush that CPU's TLB by an inter-processor interrupt: the closer's cost
 * per close, and the CPU the other thread loses per close (its work rate with closes against
 * without; a no-op mprotect at the same rate is the control).
 *
 * Usage: cc -O2 -pthread mprotect_costs.c -o mprotect_costs && ./mprotect_costs [rounds]
 * Needs Linux 6.13 or later (guard markers) and two CPUs for the two-thread part.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

enum { SLOTS = 256, PER_CHUNK = 16, MAX_ROUNDS = 31 };
#define RW (PROT_READ | PROT_WRITE)

static size_t page;

static double cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static double wall_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void need(int ok, const char *what) {
    if (!ok) {
        perror(what);
        exit(1);
    }
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static int mappings(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    int lines = 0;
    char line[512];
    while (maps && fgets(line, sizeof line, maps))
        lines++;
    if (maps)
        fclose(maps);
    return lines;
}

/* A pool of SLOTS two-page slots, each its own mapping; `memfd` picks how they are kept apart. */
static char *make_pool(int memfd) {
    char *pool = mmap(NULL, SLOTS * 2 * page, memfd ? PROT_NONE : RW,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    need(pool != MAP_FAILED, "mmap pool");
    int fd = -1;
    if (memfd) {
        fd = memfd_create("slots", MFD_CLOEXEC);
        need(fd >= 0 && ftruncate(fd, (off_t)SLOTS * 3 * page) == 0, "memfd");
    }
    for (int s = 0; s < SLOTS; s++) {
        char *slot = pool + (size_t)s * 2 * page;
        if (memfd)
            need(mmap(slot, 2 * page, RW, MAP_SHARED | MAP_FIXED, fd, (off_t)s * 3 * page) != MAP_FAILED,
                 "mmap slot");
        else
            need(madvise(slot, 2 * page, s % 2 ? MADV_NOHUGEPAGE : MADV_HUGEPAGE) == 0, "madvise");
        slot[0] = 1;
        need(madvise(slot + page, page, MADV_GUARD_INSTALL) == 0, "MADV_GUARD_INSTALL");
    }
    if (fd >= 0)
        close(fd);
    return pool;
}

/* The pool's cycle, `chunks` times: close the sixteen slots of a chunk one by one, reopen the
 * chunk with one mprotect. Adds the CPU time of closes and reopens to the two sums. */
static void cycle(char *pool, int chunks, int noop, double *closing, double *reopening) {
    for (int c = 0; c < chunks; c++) {
        char *first = pool + (size_t)(c % (SLOTS / PER_CHUNK)) * PER_CHUNK * 2 * page;
        double t0 = cpu_ns();
        for (int k = 0; k < PER_CHUNK; k++) {
            char *slot = first + (size_t)k * 2 * page;
            slot[64] = (char)k;
            mprotect(slot, 2 * page, noop ? RW : PROT_NONE);
        }
        double t1 = cpu_ns();
        mprotect(first, PER_CHUNK * 2 * page, RW);
        *closing += t1 - t0;
        *reopening += cpu_ns() - t1;
    }
}

static double t_getppid(int n) {
    double t = cpu_ns();
    for (int i = 0; i < n; i++)
        syscall(SYS_getppid);
    return (cpu_ns() - t) / n;
}

static double t_noop(char *pool, int n) {
    double t = cpu_ns();
    for (int i = 0; i < n; i++)
        mprotect(pool + (size_t)(i % SLOTS) * 2 * page, 2 * page, RW);
    return (cpu_ns() - t) / n;
}

static double t_split(char *big, int n) {
    double t = cpu_ns();
    for (int i = 0; i < n; i++) {
        char *p = big + (size_t)(1 + i % (SLOTS - 2)) * page;
        p[64] = (char)i;
        mprotect(p, page, PROT_NONE);
        mprotect(p, page, RW);
    }
    return (cpu_ns() - t) / n;
}

static double t_marker(char *big, int n) {
    double t = cpu_ns();
    for (int i = 0; i < n; i++) {
        char *p = big + (size_t)(1 + i % (SLOTS - 2)) * page;
        p[64] = (char)i; /* faults the page back in after the last round's install */
        madvise(p, page, MADV_GUARD_INSTALL);
        madvise(p, page, MADV_GUARD_REMOVE);
    }
    return (cpu_ns() - t) / n;
}

/* ---- the other thread: fixed work on the other CPU, its CPU time per unit measured ---- */

static atomic_int phase;
static double per_unit[3];
static long units_done[3];

static void *other(void *arg) {
    (void)arg;
    pin(1);
    static char buffer[1 << 15];
    for (int ph = 1; ph <= 2; ph++) {
        while (atomic_load(&phase) < ph)
            ;
        long units = 0;
        double t = cpu_ns();
        while (atomic_load_explicit(&phase, memory_order_relaxed) == ph) {
            for (size_t i = 0; i < sizeof buffer; i += 64)
                buffer[i]++;
            units++;
        }
        per_unit[ph] = (cpu_ns() - t) / (double)units;
        units_done[ph] = units;
    }
    return NULL;
}

/* Closes (or no-op mprotects) for 0.2 s while the other thread runs; returns the closer's CPU
 * per close and sets `*lost` to the other thread's extra CPU per close. */
static double with_other(char *pool, int noop, double *lost) {
    pin(0);
    atomic_store(&phase, 0);
    pthread_t thread;
    pthread_create(&thread, NULL, other, NULL);
    atomic_store(&phase, 1);
    usleep(200000);
    atomic_store(&phase, 2);
    double closing = 0, reopening = 0, start = wall_ns();
    long closes = 0;
    while (wall_ns() - start < 2e8) {
        cycle(pool, 1, noop, &closing, &reopening);
        closes += PER_CHUNK;
    }
    atomic_store(&phase, 3);
    pthread_join(thread, NULL);
    /* Each unit of the other thread's work took per_unit[2] - per_unit[1] more CPU than alone. */
    *lost = (double)units_done[2] * (per_unit[2] - per_unit[1]) / (double)closes;
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE; c++)
        CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof all, &all);
    return closing / (double)closes;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void row(const char *name, double *values, int rounds) {
    qsort(values, rounds, sizeof(double), cmp);
    printf("| %s | %.2f | %.2f-%.2f |\n", name, values[rounds / 2] / 1e3, values[0] / 1e3,
           values[rounds - 1] / 1e3);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (rounds < 1 || rounds > MAX_ROUNDS)
        rounds = 5;
    page = (size_t)sysconf(_SC_PAGESIZE);
    int before = mappings();
    char *pool = make_pool(0);
    int pool_mappings = mappings() - before;
    char *memfd_pool = make_pool(1);
    char *big = mmap(NULL, SLOTS * page, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    need(big != MAP_FAILED, "mmap");
    for (int p = 0; p < SLOTS; p++)
        big[(size_t)p * page] = 1;

    enum { GETPPID, NOOP, CLOSE, REOPEN, MCLOSE, MREOPEN, SPLIT, MARKER, CLOSE2, LOST, NOOP2,
           LOST_NOOP, ROWS };
    static const char *names[ROWS] = {
        "getppid (bare system call)",
        "mprotect that changes nothing",
        "close a slot (alternating flags; gpa's pool)",
        "reopen, per slot (chunk of 16, one mprotect)",
        "close a slot (memfd MAP_SHARED slots)",
        "reopen, per slot (memfd MAP_SHARED slots)",
        "close + reopen one page inside a mapping (split, merge)",
        "MADV_GUARD_INSTALL + MADV_GUARD_REMOVE (+ refault)",
        "close a slot, other thread running on the other CPU",
        "  CPU the other thread loses per close",
        "no-op mprotect, other thread running (control)",
        "  CPU the other thread loses per no-op mprotect",
    };
    double values[ROWS][MAX_ROUNDS];
    int two_cpus = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
    for (int r = 0; r < rounds; r++) {
        values[GETPPID][r] = t_getppid(200000);
        values[NOOP][r] = t_noop(pool, 100000);
        double closing = 0, reopening = 0;
        cycle(pool, 3000, 0, &closing, &reopening);
        values[CLOSE][r] = closing / (3000.0 * PER_CHUNK);
        values[REOPEN][r] = reopening / (3000.0 * PER_CHUNK);
        closing = reopening = 0;
        cycle(memfd_pool, 3000, 0, &closing, &reopening);
        values[MCLOSE][r] = closing / (3000.0 * PER_CHUNK);
        values[MREOPEN][r] = reopening / (3000.0 * PER_CHUNK);
        values[SPLIT][r] = t_split(big, 30000);
        values[MARKER][r] = t_marker(big, 30000);
        if (two_cpus) {
            values[CLOSE2][r] = with_other(pool, 0, &values[LOST][r]);
            values[NOOP2][r] = with_other(pool, 1, &values[LOST_NOOP][r]);
        }
    }
    printf("%d rounds; the pool made %d mappings (%d slots); µs of CPU per operation\n\n", rounds,
           pool_mappings, SLOTS);
    printf("| operation | median µs | range |\n|---|---:|---:|\n");
    for (int k = 0; k < ROWS; k++)
        if (two_cpus || k < CLOSE2)
            row(names[k], values[k], rounds);
    return 0;
}
