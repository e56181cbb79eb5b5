/* glibc-thread: random replacement in a per-thread working set (after glibc's
 * bench-malloc-thread). Each thread keeps 1024 slots; every step frees a random slot and
 * allocates a block of a random size from an inverse-square distribution over 4..32768
 * bytes (mostly small, now and then large), writing every byte. A fixed number of steps per
 * thread. */
#include <math.h>

#include "common.h"

enum { SLOTS = 1024, SIZES = 8000, STEPS = 50000000 };
enum { MIN_SIZE = 4, MAX_SIZE = 32768 };

static unsigned sizes[SIZES];
static unsigned offsets[SLOTS * 4];
static long steps;

/* Inverse-square distribution: density proportional to 1/x^2 on [MIN_SIZE, MAX_SIZE]. */
static unsigned inverse_square(double u) {
    double low = 1.0 / MIN_SIZE, high = 1.0 / MAX_SIZE;
    return (unsigned)(1.0 / (low - u * (low - high)));
}

static void *worker(void *argument) {
    unsigned long *result = argument;
    void **slots = check_ptr(calloc(SLOTS, sizeof *slots), "slots");
    unsigned size_index = 0, offset_index = 0;
    unsigned long sum = 0;
    for (long step = 0; step < steps; step++) {
        unsigned slot = offsets[offset_index];
        offset_index = offset_index + 1 == SLOTS * 4 ? 0 : offset_index + 1;
        unsigned size = sizes[size_index];
        size_index = size_index + 1 == SIZES ? 0 : size_index + 1;
        free(slots[slot]);
        char *p = slots[slot] = malloc(size);
        for (unsigned i = 0; i < size; i++) p[i] = (char)i;
        sum += (unsigned char)p[size / 2];
    }
    for (int i = 0; i < SLOTS; i++) free(slots[i]);
    free(slots);
    *result = sum;
    return NULL;
}

int main(int argc, char **argv) {
    long scale;
    int threads;
    bench_args(argc, argv, &scale, &threads);
    steps = scaled(STEPS, scale, 10000) / threads;
    uint64_t seed = 88;
    for (int i = 0; i < SIZES; i++)
        sizes[i] = inverse_square((double)rng_next(&seed) / 18446744073709551616.0);
    for (int i = 0; i < SLOTS * 4; i++) offsets[i] = (unsigned)rng_below(&seed, SLOTS);
    unsigned long *sums = check_ptr(calloc((size_t)threads, sizeof *sums), "sums");
    void **arguments = check_ptr(malloc(sizeof *arguments * (size_t)threads), "arguments");
    for (int i = 0; i < threads; i++) arguments[i] = &sums[i];
    run_threads(threads, worker, arguments);
    unsigned long sum = 0;
    for (int i = 0; i < threads; i++) sum += sums[i];
    printf("glibc-thread: %d threads, checksum %lu\n", threads, sum);
    free(sums);
    free(arguments);
    return 0;
}
