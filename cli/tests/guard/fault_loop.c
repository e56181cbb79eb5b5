/* A loop that reads a freed 1 MiB block word by word: 262,144 faults on gpa's guards. gpa
 * steps over the first 10,000 one instruction at a time; after that it leaves each faulting
 * page open until it reuses it, so the program finishes. Then blocks that reuse those pages
 * (a small quarantine) are zero from calloc, and a read past the end of a new block is still
 * caught at its guard page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static long sum_freed(const int *block, size_t count) {
    long sum = 0;
    for (size_t index = 0; index < count; index++)
        sum += block[index];
    return sum;
}

__attribute__((noinline)) static int read_past(const char *block, size_t size) {
    return block[size];
}

int main(void) {
    size_t size = 1 << 20;
    int *block = malloc(size);
    memset(block, 1, size);
    free(block);
    printf("sum %ld\n", sum_freed(block, size / sizeof(int)));
    int nonzero = 0;
    for (int round = 0; round < 64; round++) {
        char *fresh = calloc(1, size);
        for (size_t index = 0; index < size; index += 512)
            nonzero += fresh[index] != 0;
        memset(fresh, 3, size);
        free(fresh);
    }
    char *last = malloc(4096);
    memset(last, 0, 4096);
    printf("nonzero %d past %d\n", nonzero, read_past(last, 4096));
    free(last);
    return 0;
}
