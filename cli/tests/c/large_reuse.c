/* Large blocks whose memory gpa's check mode reuses: a block of 1 MiB is freed, then a new one
 * of a fitting size gets its pages (at another address; the old block's range stays
 * quarantined). Each case prints `faults N`, the minor page faults the new block's
 * allocation and first fill took (few when its memory was reused, about 256 when fresh).
 *
 *   read_old / write_old  a use of the old block after the new one took its memory
 *   calloc                calloc blocks on reused memory read as zero (one trimmed)
 *   realloc               a block on reused memory grown, then shrunk: contents kept
 *   realloc_overflow      ... then written one byte past its new end
 *   leak                  the old block held the only pointer to a small block; the new
 *                         block (reused memory, its first half never written) must not make
 *                         that one reachable */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MIB ((size_t)1 << 20)

char *volatile kept;

__attribute__((noinline)) static char *make_old(size_t size, int fill) {
    char *block = malloc(size);
    memset(block, fill, size);
    return block;
}

__attribute__((noinline)) static char *make_new(size_t size) { return malloc(size); }

__attribute__((noinline)) static void release(char *block) { free(block); }

__attribute__((noinline)) static int peek(const char *p) { return *(const volatile char *)p; }

__attribute__((noinline)) static void poke(char *p) { *(volatile char *)p = 7; }

static long minor_faults(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

/* A new block of `size` filled with `fill`, printing the faults its allocation and fill took. */
static char *fresh_block(size_t size, int fill) {
    long before = minor_faults();
    char *block = make_new(size);
    memset(block, fill, size);
    printf("faults %ld\n", minor_faults() - before);
    return block;
}

static size_t count_not(const char *block, size_t size, int value) {
    size_t count = 0;
    for (size_t i = 0; i < size; i++) count += block[i] != (char)value;
    return count;
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "";
    if (!strcmp(which, "read_old") || !strcmp(which, "write_old")) {
        char *old = make_old(MIB, 'a');
        release(old);
        char *new = fresh_block(MIB, 'b');
        printf("block %p %zu\n", (void *)old, MIB);
        fflush(stdout);
        if (which[0] == 'r') {
            printf("read %d\n", peek(old + 5000));
        } else {
            poke(old + 5000);
        }
        printf("new block intact: %s\n", count_not(new, MIB, 'b') == 0 ? "yes" : "no");
        release(new);
    } else if (!strcmp(which, "calloc")) {
        release(make_old(MIB, 0xab));
        long before = minor_faults();
        char *zeroed = calloc(1, MIB);
        printf("faults %ld\n", minor_faults() - before);
        printf("nonzero %zu\n", count_not(zeroed, MIB, 0));
        memset(zeroed, 0xcd, MIB);
        release(zeroed);
        /* Smaller: the reused mapping is trimmed. */
        zeroed = calloc(600, 1000);
        printf("nonzero %zu\n", count_not(zeroed, 600000, 0));
        release(zeroed);
    } else if (!strcmp(which, "realloc") || !strcmp(which, "realloc_overflow")) {
        release(make_old(MIB, 1));
        char *block = fresh_block(MIB, 2);
        block = realloc(block, 3 * MIB);
        printf("grown, changed %zu\n", count_not(block, MIB, 2));
        memset(block + MIB, 3, 2 * MIB);
        block = realloc(block, 600000);
        printf("shrunk, changed %zu\n", count_not(block, 600000, 2));
        if (which[7] == '_') block[600000] = 9;
        release(block);
    } else if (!strcmp(which, "leak")) {
        char *small = malloc(32);
        char *old = make_old(MIB, 0);
        for (size_t i = 0; i < MIB; i += sizeof small) memcpy(old + i, &small, sizeof small);
        small = NULL;
        release(old);
        /* Only the second half written: the first half is what the allocation left. */
        long before = minor_faults();
        kept = make_new(MIB);
        memset(kept + MIB / 2, 1, MIB / 2);
        printf("faults %ld\n", minor_faults() - before);
    } else {
        fprintf(stderr, "usage: large_reuse read_old|write_old|calloc|realloc|realloc_overflow|leak\n");
        return 2;
    }
    puts("done");
    return 0;
}
