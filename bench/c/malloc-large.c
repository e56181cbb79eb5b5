/* malloc-large: big buffers replaced at random (after mimalloc-bench's malloc-large). Twenty
 * slots hold buffers of 5..25 MiB; each step allocates a new buffer for a random slot, zeroes
 * it (as C++'s `std::make_unique<char[]>(n)` does) and then frees the buffer it replaces. An
 * allocator that returns every freed buffer to the OS pays a page fault for each page of the
 * next one. */
#include "common.h"

enum { SLOTS = 20, STEPS = 600 };
#define MIN_SIZE ((size_t)5 << 20)
#define MAX_SIZE ((size_t)25 << 20)

/* Called through a volatile pointer so that the compiler cannot fuse `malloc` and `memset`
 * into `calloc` (it cannot fuse `new` and the value-initialization of make_unique either). */
static void *(*volatile zero_fill)(void *, int, size_t) = memset;

int main(int argc, char **argv) {
    long scale;
    int threads;
    bench_args(argc, argv, &scale, &threads);
    long steps = scaled(STEPS, scale, 20);
    char *slots[SLOTS] = {0};
    uint64_t seed = 42;
    unsigned long sum = 0;
    for (long step = 0; step < steps; step++) {
        size_t slot = rng_below(&seed, SLOTS);
        size_t size = rng_range(&seed, MIN_SIZE, MAX_SIZE);
        char *fresh = check_ptr(malloc(size), "buffer");
        zero_fill(fresh, 0, size);
        fresh[size / 3] = (char)step;
        sum += (unsigned char)fresh[size / 3];
        free(slots[slot]);
        slots[slot] = fresh;
    }
    for (int i = 0; i < SLOTS; i++) free(slots[i]);
    printf("malloc-large: checksum %lu\n", sum);
    return 0;
}
