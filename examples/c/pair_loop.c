/* The C mixed loop of docs/performance.md: N free/malloc pairs of 8-1024 bytes over 1,000
 * live blocks, called from three frames below main, for counting check mode's instructions
 * per pair. Instruction counts under callgrind are deterministic; the difference between two
 * loop lengths leaves out start-up and the exit report:
 *
 *   gcc -O2 -g examples/c/pair_loop.c -o /tmp/pair_loop
 *   for n in 100000 200000; do
 *     GPA_MODE=check GPA_FRAMES=8 GPA_REPORT_DIR=$(mktemp -d) \
 *       LD_PRELOAD=target/release/libgpa_preload.so \
 *       valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n /tmp/pair_loop $n
 *   done
 *   # (totals of /tmp/cg.200000 - totals of /tmp/cg.100000) / 100000 = instructions per pair
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t state = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

#define LIVE 1000
static void *live[LIVE];

__attribute__((noinline)) static void pairs(long n) {
    for (long i = 0; i < n; i++) {
        int k = (int)(next_random() % LIVE);
        free(live[k]);
        size_t size = 8 + next_random() % 1017;
        live[k] = malloc(size);
        ((char *)live[k])[0] = 1;
    }
}

__attribute__((noinline)) static void level2(long n) {
    pairs(n);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void level1(long n) {
    level2(n);
    __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    for (int k = 0; k < LIVE; k++) live[k] = malloc(8 + next_random() % 1017);
    level1(n);
    for (int k = 0; k < LIVE; k++) free(live[k]);
    printf("done\n");
    return 0;
}
