/* alloc-test: a simulation of a program's heap (after the alloc-test of OLogN Technologies, as
 * run by mimalloc-bench in its one-thread and N-thread forms). Each thread owns a table of
 * slots, half of them filled at the start; every step picks a slot with a skewed (80/20-like)
 * distribution, so a few slots churn often and most live long, and frees the block there or
 * allocates one. Sizes are drawn with each power of two from 8 bytes to 64 KiB half as likely as
 * the one below it. One byte of each block is written and read back. */
#include "common.h"

enum { SLOTS = 1 << 17, MAX_EXP = 16, STEPS = 25000000 };

/* A slot index: with probability 0.8 among the first fifth of the slots, recursively. */
static size_t skewed_slot(uint64_t *seed) {
    size_t low = 0, count = SLOTS;
    while (count > 64 && rng_below(seed, 10) < 8) count /= 5;
    return low + rng_below(seed, count) * (SLOTS / count);
}

static size_t random_size(uint64_t *seed) {
    uint64_t r = rng_next(seed);
    unsigned exp = 3;
    while (exp < MAX_EXP && (r & 1)) {
        exp++;
        r >>= 1;
    }
    size_t base = (size_t)1 << exp;
    return base / 2 + 1 + (size_t)((r >> 8) % (base / 2));
}

typedef struct {
    long steps;
    uint64_t seed;
    unsigned long sum;
} worker_t;

static void *worker(void *argument) {
    worker_t *self = argument;
    /* The generator's state lives on this thread's stack, as in the original: the workers'
     * records share a cache line (two 24-byte records in one block), and writing the seed
     * there on every step made the threads fight over that line under every allocator that
     * puts the block at a 64-byte boundary (mimalloc, jemalloc, gpa), not under glibc, whose
     * 16-byte chunk header happens to split the records across two lines. */
    uint64_t seed = self->seed;
    char **slots = check_ptr(calloc(SLOTS, sizeof *slots), "slots");
    uint32_t *sizes = check_ptr(calloc(SLOTS, sizeof *sizes), "sizes");
    for (size_t i = 0; i < SLOTS; i += 2) {
        sizes[i] = (uint32_t)random_size(&seed);
        slots[i] = malloc(sizes[i]);
        slots[i][sizes[i] / 2] = (char)i;
    }
    unsigned long sum = 0;
    for (long step = 0; step < self->steps; step++) {
        size_t slot = skewed_slot(&seed);
        if (slots[slot] != NULL) {
            sum += (unsigned char)slots[slot][sizes[slot] / 2];
            free(slots[slot]);
            slots[slot] = NULL;
        } else {
            sizes[slot] = (uint32_t)random_size(&seed);
            slots[slot] = malloc(sizes[slot]);
            slots[slot][sizes[slot] / 2] = (char)step;
        }
    }
    for (size_t i = 0; i < SLOTS; i++) free(slots[i]);
    free(slots);
    free(sizes);
    self->sum = sum;
    return NULL;
}

int main(int argc, char **argv) {
    long scale;
    int threads;
    bench_args(argc, argv, &scale, &threads);
    worker_t *workers = check_ptr(calloc((size_t)threads, sizeof *workers), "workers");
    void **arguments = check_ptr(malloc(sizeof *arguments * (size_t)threads), "arguments");
    for (int t = 0; t < threads; t++) {
        workers[t].steps = scaled(STEPS, scale, 1000) / threads;
        workers[t].seed = 0xa110c + (uint64_t)t;
        arguments[t] = &workers[t];
    }
    run_threads(threads, worker, arguments);
    unsigned long sum = 0;
    for (int t = 0; t < threads; t++) sum += workers[t].sum;
    printf("alloc-test: %d threads, checksum %lu\n", threads, sum);
    free(workers);
    free(arguments);
    return 0;
}
