/* mstress: a stress test of many threads that allocate, keep, free and trade blocks (after
 * mimalloc's test-stress, as run by mimalloc-bench). In each of ITER rounds, THREADS threads
 * start; each allocates blocks of 1..16 words (now and then 100, 1000 or 10000 times bigger),
 * writes a pattern into every word, keeps some to the end of its round, frees others at
 * random, and swaps blocks with a transfer table shared by all threads, so blocks travel
 * between threads and outlive the thread that made them. The pattern is checked before each
 * free. Half of the transfer table survives into the next round. */
#include "common.h"

enum { TRANSFERS = 1000, ROUNDS = 25, LOAD = 100 };
static const uintptr_t COOKIE = 0xbf58476d1ce4e5b9ull;

static void *_Atomic transfer[TRANSFERS];
static long load;

static int chance(uint64_t *seed, int percent) { return (int)rng_below(seed, 100) < percent; }

static uintptr_t *alloc_items(size_t items, uint64_t *seed) {
    if (chance(seed, 1)) {
        if (chance(seed, 1)) items *= 10000;
        else if (chance(seed, 10)) items *= 1000;
        else items *= 100;
    }
    uintptr_t *p = check_ptr(malloc(items * sizeof *p), "items");
    for (size_t i = 0; i < items; i++) p[i] = (items - i) ^ COOKIE;
    return p;
}

static void free_items(uintptr_t *p) {
    if (p == NULL) return;
    uintptr_t items = p[0] ^ COOKIE;
    for (uintptr_t i = 0; i < items; i++) {
        if ((p[i] ^ COOKIE) != items - i) {
            fprintf(stderr, "mstress: block %p corrupt at word %lu\n", (void *)p, (unsigned long)i);
            abort();
        }
    }
    free(p);
}

static void *stress(void *argument) {
    uintptr_t id = (uintptr_t)argument;
    uint64_t seed = (id + 1) * 43;
    size_t allocs = (size_t)(100 * load * (long)(id % 8 + 1));
    size_t retain = allocs / 2;
    uintptr_t **data = NULL;
    size_t data_size = 0, data_top = 0;
    uintptr_t **retained = check_ptr(malloc(retain * sizeof *retained), "retained");
    size_t retain_top = 0;
    while (allocs > 0 || retain > 0) {
        if (retain == 0 || (chance(&seed, 50) && allocs > 0)) {
            allocs--;
            if (data_top >= data_size) {
                data_size += 100000;
                data = check_ptr(realloc(data, data_size * sizeof *data), "data");
            }
            data[data_top++] = alloc_items((size_t)1 << rng_below(&seed, 5), &seed);
        } else {
            retained[retain_top++] = alloc_items((size_t)1 << rng_below(&seed, 7), &seed);
            retain--;
        }
        if (chance(&seed, 66) && data_top > 0) {
            size_t index = rng_below(&seed, data_top);
            free_items(data[index]);
            data[index] = NULL;
        }
        if (chance(&seed, 25) && data_top > 0) {
            size_t index = rng_below(&seed, data_top);
            size_t slot = rng_below(&seed, TRANSFERS);
            data[index] = __atomic_exchange_n(&transfer[slot], data[index], __ATOMIC_ACQ_REL);
        }
    }
    for (size_t i = 0; i < retain_top; i++) free_items(retained[i]);
    for (size_t i = 0; i < data_top; i++) free_items(data[i]);
    free(retained);
    free(data);
    return NULL;
}

int main(int argc, char **argv) {
    long scale;
    int threads;
    bench_args(argc, argv, &scale, &threads);
    load = scaled(LOAD, scale, 1);
    void **arguments = check_ptr(malloc(sizeof *arguments * (size_t)threads), "arguments");
    uint64_t seed = 43 * 43;
    for (int round = 0; round < ROUNDS; round++) {
        for (int t = 0; t < threads; t++) arguments[t] = (void *)(uintptr_t)(round * threads + t);
        run_threads(threads, stress, arguments);
        for (int i = 0; i < TRANSFERS; i++) {
            if (chance(&seed, 50) || round + 1 == ROUNDS) {
                uintptr_t *p = __atomic_exchange_n(&transfer[i], NULL, __ATOMIC_ACQ_REL);
                free_items(p);
            }
        }
    }
    printf("mstress: %d threads, %d rounds\n", threads, ROUNDS);
    free(arguments);
    return 0;
}
