/* Random call stacks for the unwinder cross-check (cli/tests/unwind_cross_check.rs): built
 * with -O2 and no frame pointers, run under `gpa run` with GPA_UNWIND_CHECK=1, so that every
 * trace of gpa's caching unwinder is compared with libgcc's _Unwind_Backtrace.
 *
 * Functions of different frame sizes call each other in random orders and to random depths,
 * from several call sites each, and allocate, reallocate and free at the bottom: recursion
 * (the same frames at different depths), loops at one depth (the same stack many times), a
 * variable-length array (a frame addressed from rbp), calls through a function pointer and
 * through libc's qsort (foreign frames in the middle). Then twin call sites: two functions
 * with the same frame, called in turn from one loop, allocate at the same stack pointer
 * under different return addresses (a remembered capture must not answer for the other).
 * Then one function recursing to random depths through two call sites (espresso's shape),
 * and two (then three) callers alike whose paths differ two frames above the allocation. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t seed = 0x5eed;
static unsigned next(unsigned bound) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (unsigned)(seed % bound);
}

#define LIVE 64
static void *live[LIVE];
static volatile unsigned long sink;

static void churn(unsigned tag) {
    unsigned slot = next(LIVE);
    switch (next(4)) {
    case 0:
        free(live[slot]);
        live[slot] = malloc(8 + next(200));
        break;
    case 1:
        live[slot] = realloc(live[slot], 16 + next(400));
        break;
    case 2:
        free(live[slot]);
        live[slot] = calloc(1 + next(8), 24);
        break;
    default:
        free(live[slot]);
        live[slot] = NULL;
        break;
    }
    if (live[slot]) ((unsigned char *)live[slot])[0] = (unsigned char)tag;
}

static void descend(unsigned depth);

__attribute__((noinline)) static void small_frame(unsigned depth) {
    volatile char pad[16];
    pad[0] = (char)depth;
    descend(depth);
    sink += pad[0];
}

__attribute__((noinline)) static void big_frame(unsigned depth) {
    volatile char pad[600];
    pad[depth % 600] = (char)depth;
    if (next(2)) descend(depth);
    else small_frame(depth);
    sink += pad[depth % 600];
}

__attribute__((noinline)) static void vla_frame(unsigned depth) {
    /* A variable-length array: gcc addresses this frame from rbp. */
    unsigned n = 8 + next(64);
    volatile char pad[n];
    pad[n - 1] = (char)depth;
    descend(depth);
    sink += pad[n - 1];
}

static void (*volatile indirect)(unsigned) = small_frame;

static int compare(const void *a, const void *b) {
    churn(7);
    return (int)(*(const unsigned *)a) - (int)(*(const unsigned *)b);
}

__attribute__((noinline)) static void through_qsort(unsigned depth) {
    unsigned values[6];
    for (int i = 0; i < 6; i++) values[i] = next(100);
    qsort(values, 6, sizeof values[0], compare);
    descend(depth);
    sink += values[0];
}

__attribute__((noinline)) static void loop_here(unsigned depth) {
    /* The same stack many times in a row. */
    unsigned times = 1 + next(20);
    for (unsigned i = 0; i < times; i++) churn(1);
    descend(depth);
}

__attribute__((noinline)) static void descend(unsigned depth) {
    if (depth == 0) {
        churn(0);
        return;
    }
    switch (next(7)) {
    case 0: small_frame(depth - 1); break;
    case 1: big_frame(depth - 1); break;
    case 2: vla_frame(depth - 1); break;
    case 3: indirect(depth - 1); break;
    case 4: through_qsort(depth - 1); break;
    case 5: loop_here(depth - 1); break;
    default:
        churn(2);
        descend(depth - 1);
        churn(3);
        break;
    }
}

/* Two functions alike but for their return addresses: the same frame size, so that their
 * allocations run at the same stack pointer. */
__attribute__((noinline)) static void twin_a(unsigned slot) {
    free(live[slot]);
    live[slot] = malloc(24);
    sink += (uintptr_t)live[slot] & 1;
}

__attribute__((noinline)) static void twin_b(unsigned slot) {
    free(live[slot]);
    live[slot] = malloc(24);
    sink += (uintptr_t)live[slot] & 1;
}

__attribute__((noinline)) static void twins(unsigned rounds) {
    for (unsigned i = 0; i < rounds; i++) {
        if (next(2)) twin_a(next(LIVE));
        else twin_b(next(LIVE));
    }
}

/* The shape of espresso's recursion: one function recursing to a varying depth through two
 * call sites (so the frames above a capture differ from one capture to the next at the same
 * depths), allocating and freeing on the way down and up. */
__attribute__((noinline)) static void recurse(unsigned depth) {
    churn(4);
    if (depth == 0) return;
    if (next(2)) {
        recurse(depth - 1);
        sink += 1;
    } else {
        sink += 2;
        recurse(depth - 1);
        sink += 3;
    }
    churn(5);
}

/* Paths that differ two frames up, at equal stack pointers: `outer_a` and `outer_b` have the
 * same frame and call `middle` in turn, which allocates: the first frame and stack pointer of
 * every capture are the same, the second frame alternates. */
__attribute__((noinline)) static void middle(unsigned slot) {
    free(live[slot]);
    live[slot] = malloc(32);
    sink += (uintptr_t)live[slot] & 1;
}
__attribute__((noinline)) static void outer_a(unsigned slot) {
    middle(slot);
    sink += 1;
}
__attribute__((noinline)) static void outer_b(unsigned slot) {
    middle(slot);
    sink += 2;
}
__attribute__((noinline)) static void outer_c(unsigned slot) {
    middle(slot);
    sink += 3;
}
/* Two paths in turn, then three: a set of remembered captures holds two ways, so with three
 * paths at one stack pointer each capture may evict another's and must still not answer
 * for it. */
__attribute__((noinline)) static void alternate(unsigned rounds) {
    for (unsigned i = 0; i < rounds; i++) {
        if (next(2)) outer_a(next(LIVE));
        else outer_b(next(LIVE));
    }
    for (unsigned i = 0; i < rounds; i++) {
        switch (next(3)) {
        case 0: outer_a(next(LIVE)); break;
        case 1: outer_b(next(LIVE)); break;
        default: outer_c(next(LIVE)); break;
        }
    }
}

int main(int argc, char **argv) {
    unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
    for (unsigned round = 0; round < rounds; round++) {
        descend(next(40));
        if (next(3) == 0) {
            /* Back up, then down again along another path. */
            for (unsigned i = 0; i < 5; i++) descend(next(12));
        }
    }
    twins(rounds * 4);
    for (unsigned round = 0; round < rounds; round++) recurse(next(24));
    alternate(rounds * 4);
    for (int i = 0; i < LIVE; i++) free(live[i]);
    printf("random stacks: %u rounds\n", rounds);
    return 0;
}
