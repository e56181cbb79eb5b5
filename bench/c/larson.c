/* larson: a server whose worker threads come and go (after Larson and Krishnan's benchmark, as
 * run by mimalloc-bench: 8..1000 bytes, 5000 blocks per thread). Each of THREADS lineages owns
 * a table of 5000 blocks; a worker thread replaces random blocks of its table with blocks of a
 * random size, then exits; its successor (a new thread) inherits the table and frees blocks its
 * predecessor allocated, so frees often come from another thread than the allocation, and
 * the heaps of exited threads must be reused. */
#include "common.h"

enum { BLOCKS = 5000, MIN_SIZE = 8, MAX_SIZE = 1000, GENERATIONS = 40, STEPS = 20000000 };

typedef struct {
    char **table;
    uint64_t seed;
    long steps;
    unsigned long sum;
} lineage_t;

static void *worker(void *argument) {
    lineage_t *lineage = argument;
    /* The hot state in locals (the lineages' records share a cache line: writing the seed
     * there on every step made the threads fight over that line wherever the records'
     * block starts at a 64-byte boundary); the seed goes back for the successor. */
    uint64_t seed = lineage->seed;
    char **table = lineage->table;
    long steps = lineage->steps;
    unsigned long sum = 0;
    for (long step = 0; step < steps; step++) {
        uint64_t slot = rng_below(&seed, BLOCKS);
        size_t size = rng_range(&seed, MIN_SIZE, MAX_SIZE);
        free(table[slot]);
        char *p = table[slot] = malloc(size);
        p[0] = (char)step;
        p[size - 1] = (char)slot;
        sum += (unsigned char)p[0];
    }
    lineage->seed = seed;
    lineage->sum += sum;
    return NULL;
}

int main(int argc, char **argv) {
    long scale;
    int threads;
    bench_args(argc, argv, &scale, &threads);
    long steps = scaled(STEPS, scale, 20000) / threads / GENERATIONS;
    lineage_t *lineages = check_ptr(calloc((size_t)threads, sizeof *lineages), "lineages");
    void **arguments = check_ptr(malloc(sizeof *arguments * (size_t)threads), "arguments");
    for (int t = 0; t < threads; t++) {
        lineage_t *lineage = &lineages[t];
        lineage->table = check_ptr(malloc(BLOCKS * sizeof(char *)), "table");
        lineage->seed = 4141 + (uint64_t)t;
        for (int i = 0; i < BLOCKS; i++)
            lineage->table[i] = check_ptr(malloc(rng_range(&lineage->seed, MIN_SIZE, MAX_SIZE)), "block");
        lineage->steps = steps;
        arguments[t] = lineage;
    }
    for (int generation = 0; generation < GENERATIONS; generation++)
        run_threads(threads, worker, arguments);
    unsigned long sum = 0;
    for (int t = 0; t < threads; t++) {
        for (int i = 0; i < BLOCKS; i++) free(lineages[t].table[i]);
        free(lineages[t].table);
        sum += lineages[t].sum;
    }
    printf("larson: %d threads, checksum %lu\n", threads, sum);
    free(lineages);
    free(arguments);
    return 0;
}
