/* Planted bugs: frees of pointers into blocks, not at their starts, one per run (argv[1]).
 * Valgrind 3.19 says where each pointer lies:
 *   inside:       "Address ... is 8 bytes inside a block of size 32 alloc'd"
 *   after:        "Address ... is 0 bytes after a block of size 16 alloc'd"
 *   inside_freed: "Address ... is 8 bytes inside a block of size 32 free'd"
 *   after_large:  "Address ... is 0 bytes after a block of size 200,000 alloc'd" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Offsets the compiler cannot see (it warns about frees at constant offsets). */
static volatile size_t eight = 8;

__attribute__((noinline)) static char *make_block(size_t size) {
    char *block = malloc(size);
    memset(block, 1, size);
    return block;
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "inside";
    if (strcmp(which, "inside") == 0) {
        char *block = make_block(32);
        free(block + eight);
        free(block);
    } else if (strcmp(which, "after") == 0) {
        char *block = make_block(16);
        char *end = block + 2 * eight;
        free(end);
        free(block);
    } else if (strcmp(which, "inside_freed") == 0) {
        char *block = make_block(32);
        free(block);
        free(block + eight);
    } else if (strcmp(which, "after_large") == 0) {
        char *block = make_block(200000);
        char *end = block + 25000 * eight;
        free(end);
        free(block);
    }
    puts("done");
    return 0;
}
