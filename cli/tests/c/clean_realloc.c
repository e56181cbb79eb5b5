/* Clean: realloc chains that stay in place, shrink, grow across size classes and into and out
 * of large blocks, on blocks of the calling thread (fast mode's `c_realloc` path) and on
 * blocks another thread allocated (the general path); every byte kept is checked. Then
 * calloc of slots just freed dirty (fast mode's `c_calloc` clears them): every byte zero.
 * Valgrind 3.19: no error, all heap blocks freed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCKS = 64, STEPS = 400, SHARED = 32 };

static unsigned long state = 12345;
static unsigned long next_random(void) {
    state = state * 6364136223846793005ul + 1442695040888963407ul;
    return state >> 33;
}

static size_t next_size(void) {
    switch (next_random() % 8) {
    case 0: return 1 + next_random() % 16;
    case 1: return 17 + next_random() % 240;
    case 2: return 257 + next_random() % 1800;
    case 3: return 2000 + next_random() % 30000;
    case 4: return 130000 + next_random() % 200000; /* a large block */
    default: return 0; /* a size near the current one: in place when it fits */
    }
}

static unsigned char pattern(size_t block, unsigned long generation, size_t byte) {
    return (unsigned char)(block * 31 + generation * 7 + byte);
}

static long errors;

static void check_bytes(const unsigned char *p, size_t n, size_t block, unsigned long gen) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(block, gen, i)) {
            errors++;
            return;
        }
}

static void fill_bytes(unsigned char *p, size_t n, size_t block, unsigned long gen) {
    for (size_t i = 0; i < n; i++) p[i] = pattern(block, gen, i);
}

static unsigned char *shared[SHARED];
static size_t shared_size[SHARED];

static void *make_shared(void *unused) {
    (void)unused;
    for (size_t i = 0; i < SHARED; i++) {
        shared_size[i] = 16 + i * 40;
        shared[i] = malloc(shared_size[i]);
        fill_bytes(shared[i], shared_size[i], i, 1);
    }
    return NULL;
}

int main(void) {
    unsigned char *blocks[BLOCKS] = {0};
    size_t sizes[BLOCKS] = {0};
    unsigned long generations[BLOCKS] = {0};
    unsigned long moves = 0, in_place = 0, checksum = 0;
    for (int step = 0; step < STEPS; step++) {
        for (size_t b = 0; b < BLOCKS; b++) {
            size_t size = next_size();
            if (size == 0) size = sizes[b] ? sizes[b] - sizes[b] / 8 + next_random() % 4 : 24;
            unsigned char *moved = realloc(blocks[b], size);
            if (moved == NULL) {
                puts("realloc failed");
                return 1;
            }
            size_t kept = sizes[b] < size ? sizes[b] : size;
            check_bytes(moved, kept, b, generations[b]);
            if (blocks[b] != NULL) {
                if (moved == blocks[b])
                    in_place++;
                else
                    moves++;
            }
            generations[b]++;
            fill_bytes(moved, size, b, generations[b]);
            blocks[b] = moved;
            sizes[b] = size;
            checksum += moved[size / 2];
        }
    }
    for (size_t b = 0; b < BLOCKS; b++) {
        check_bytes(blocks[b], sizes[b], b, generations[b]);
        free(blocks[b]);
    }
    /* Blocks of a thread that has exited: grown, shrunk and kept in size on this thread. */
    pthread_t thread;
    if (pthread_create(&thread, NULL, make_shared, NULL) != 0 || pthread_join(thread, NULL) != 0)
        return 1;
    for (size_t i = 0; i < SHARED; i++) {
        size_t size = i % 3 == 0 ? shared_size[i] * 5 : i % 3 == 1 ? 8 : shared_size[i];
        unsigned char *moved = realloc(shared[i], size);
        if (moved == NULL) return 1;
        size_t kept = shared_size[i] < size ? shared_size[i] : size;
        check_bytes(moved, kept, i, 1);
        checksum += moved[0];
        free(moved);
    }
    /* calloc after frees of written blocks of the same sizes (slots reused, so cleared by
     * calloc, not fresh from the OS), from 1 byte to a large block. */
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < SHARED; i++) {
            size_t size = i < 31 ? 1 + i * i * 37 : 150000;
            unsigned char *dirty = malloc(size);
            memset(dirty, 0xa5, size);
            free(dirty);
            unsigned char *clean = calloc(1, size);
            if (clean == NULL) return 1;
            for (size_t b = 0; b < size; b++)
                if (clean[b] != 0) {
                    errors++;
                    break;
                }
            shared[i] = clean;
        }
        for (size_t i = 0; i < SHARED; i++) free(shared[i]);
    }
    /* Moves and stays depend on the allocator; the bytes kept do not. */
    printf("realloc: %d steps on %d blocks, %s, checksum %lu\n", STEPS, BLOCKS,
           errors == 0 && moves > 0 && in_place + moves > 0 ? "contents kept" : "CONTENTS LOST",
           checksum);
    return errors != 0;
}
