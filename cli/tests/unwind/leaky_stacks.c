/* Leaks from many call stacks, for cli/tests/unwind_cross_check.rs: a recursion through two
 * call sites to random depths (espresso's shape: the same stack pointer and first frame under
 * ever other callers), with allocations and frees at every depth in loops (so that remembered
 * captures answer some and miss others) and one block in 61 left unfreed and unreferenced
 * (definitely lost). Built with -O2 and no frame pointers. Each leak's trace is the allocation
 * trace of check mode's remembered captures, walked where they do not answer: the leak records
 * must be the same whether captures are remembered or every one is compared with libgcc's
 * (GPA_UNWIND_CHECK=1, under which no remembered capture answers before the capture). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t seed = 0x1eaf;
static unsigned next(unsigned bound) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (unsigned)(seed % bound);
}

static unsigned long made;
static volatile unsigned long sink;

__attribute__((noinline)) static void *block(unsigned size) {
    void *p = malloc(size);
    sink += (uintptr_t)p & 1;
    return p;
}

__attribute__((noinline)) static void churn(unsigned depth) {
    void *kept[4];
    unsigned count = 1 + next(4);
    for (unsigned i = 0; i < count; i++) kept[i] = block(16 + 8 * (depth % 5));
    for (unsigned i = 0; i < count; i++) {
        if (++made % 61 == 0) continue; /* lost: no pointer to it is kept */
        free(kept[i]);
    }
}

static void recurse(unsigned depth);

__attribute__((noinline)) static void left(unsigned depth) {
    volatile char pad[24];
    pad[0] = (char)depth;
    recurse(depth);
    sink += pad[0];
}

__attribute__((noinline)) static void recurse(unsigned depth) {
    churn(depth);
    if (depth == 0) return;
    if (next(2) == 0) recurse(depth - 1);
    else left(depth - 1);
    churn(depth);
}

int main(int argc, char **argv) {
    unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 300;
    for (unsigned round = 0; round < rounds; round++) recurse(next(20));
    printf("leaky stacks: %u rounds, %lu blocks\n", rounds, made);
    return 0;
}
