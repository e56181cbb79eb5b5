/* Shared helpers of gpa's C allocation benchmarks (the .c files beside this one).
 *
 * Every benchmark takes the same two arguments:
 *
 *     PROGRAM [SCALE [THREADS]]
 *
 * SCALE is the amount of work in percent of the full run (default 100; the check-mode table
 * uses a few percent so that Valgrind finishes), THREADS the number of threads for the
 * multi-threaded ones (default 2). The work is fixed, not timed: each program does the same
 * allocations under every allocator, and the harness (gpa-cbench) measures the wall time of
 * the whole process. Each program prints one line with a checksum of what it computed, so a
 * broken allocator shows up as a different line.
 *
 * These are gpa's own programs, written after the descriptions of well-known allocator
 * benchmarks (mimalloc-bench's suite, glibc's malloc benchmarks, Hoard's, rpmalloc's); they
 * share those benchmarks' allocation patterns, not their code. */
#ifndef GPA_BENCH_COMMON_H
#define GPA_BENCH_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SplitMix64: a small, fast, well-mixed generator; one state word per stream. */
static inline uint64_t rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A uniform value in [0, bound). */
static inline uint64_t rng_below(uint64_t *state, uint64_t bound) {
    return rng_next(state) % bound;
}

/* A uniform value in [low, high]. */
static inline uint64_t rng_range(uint64_t *state, uint64_t low, uint64_t high) {
    return low + rng_below(state, high - low + 1);
}

/* SCALE (percent) and THREADS from the command line. */
static inline void bench_args(int argc, char **argv, long *scale, int *threads) {
    *scale = argc > 1 ? atol(argv[1]) : 100;
    if (*scale <= 0) *scale = 1;
    *threads = argc > 2 ? atoi(argv[2]) : 2;
    if (*threads <= 0) *threads = 1;
}

/* `full * scale / 100`, at least `floor`. */
static inline long scaled(long full, long scale, long floor) {
    long value = full * scale / 100;
    return value < floor ? floor : value;
}

/* Fails loudly: a benchmark never continues past an allocation failure. */
static inline void *check_ptr(void *p, const char *what) {
    if (p == NULL) {
        fprintf(stderr, "allocation failed: %s\n", what);
        exit(2);
    }
    return p;
}

/* Starts `count` threads running `body(index)` and waits for them. */
static inline void run_threads(int count, void *(*body)(void *), void **arguments) {
    pthread_t *ids = check_ptr(malloc(sizeof *ids * (size_t)count), "thread ids");
    for (int i = 0; i < count; i++) {
        if (pthread_create(&ids[i], NULL, body, arguments[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(2);
        }
    }
    for (int i = 0; i < count; i++) pthread_join(ids[i], NULL);
    free(ids);
}

#endif
