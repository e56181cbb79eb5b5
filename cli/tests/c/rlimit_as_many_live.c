/* Mallocs argv[1] blocks of 16 to 79 bytes (default 400,000), frees every other one and drops
 * the array that held them: at exit half of them are lost (indirectly, through the array,
 * itself definitely lost). Prints how many mallocs failed. Run under an address-space limit
 * (`ulimit -v`, RLIMIT_AS): gpa's own metadata for that many blocks, and its exit report's
 * tables, must find room where the program's blocks do. */
#include <stdio.h>
#include <stdlib.h>

/* Allocates the blocks, frees every other one and forgets the array (out of line, so that
 * no pointer to a block stays in main's frame). */
static int __attribute__((noinline)) fill_and_forget(int count) {
    int failed = 0;
    void **blocks = malloc(sizeof *blocks * (size_t)count);
    if (blocks == NULL)
        return -1;
    for (int i = 0; i < count; i++) {
        blocks[i] = malloc(16 + (size_t)(i % 64));
        if (blocks[i] == NULL)
            failed++;
    }
    for (int i = 0; i < count; i += 2)
        free(blocks[i]);
    return failed;
}

/* Overwrites the stack below main's frame, where the allocator's and fill_and_forget's
 * frames left pointers to blocks (Valgrind then found one block "possibly lost" through
 * such a leftover, depending on the build). */
static void __attribute__((noinline)) scrub_stack(void) {
    volatile char junk[65536];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = 0;
}

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 400000;
    int failed = fill_and_forget(count);
    scrub_stack();
    printf("failed %d of %d mallocs\n", failed, count);
    return 0;
}
