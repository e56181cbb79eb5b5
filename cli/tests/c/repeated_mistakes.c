/* One mistake repeated on many blocks in a loop, then one mistake at a new site: the report
 * keeps every repetition counted on its site and still lists the new site (gpa keeps findings
 * one per block only up to a bound, then counts repeats on their site).
 *
 *   repeated_mistakes free N    N blocks of 8 bytes, each overflowed by a store and freed
 *   repeated_mistakes keep N    the same, the blocks kept (found at exit)
 *   repeated_mistakes memset N  N blocks overflowed by memset (a checked call), kept
 *
 * then, in every mode, a strcpy of 6 bytes into a 4-byte block (a new site). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *volatile kept;
char source[] = "hello";
/* Called through a pointer, so that the compiler cannot inline the call as stores. */
void *(*volatile set_bytes)(void *, int, size_t) = memset;

__attribute__((noinline)) static char *make_block(size_t size) { return malloc(size); }

__attribute__((noinline)) static void new_site(void) {
    char *small = malloc(4);
    strcpy(small, source);
    kept = small;
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    long count = atol(argv[2]);
    for (long i = 0; i < count; i++) {
        char *block = make_block(8);
        if (strcmp(argv[1], "memset") == 0)
            set_bytes(block, 0, 9);
        else
            ((volatile char *)block)[8] = 1;
        if (strcmp(argv[1], "free") == 0)
            free(block);
        else
            kept = block;
    }
    new_site();
    puts("done");
    return 0;
}
