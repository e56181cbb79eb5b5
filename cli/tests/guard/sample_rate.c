/* Sampled guard mode over fast mode: how many of 20000 `malloc`s and 20000 `calloc`s of 100
 * bytes were guarded. In fast mode a block of 100 bytes lives in a larger slot of its size
 * class, so its usable size is the slot's; a guarded block's usable size is its own. Each
 * block is written and read back (a `calloc`ed one must read as zeros). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    int guarded_malloc = 0, guarded_calloc = 0;
    for (int i = 0; i < 20000; i++) {
        char *block = malloc(100);
        memset(block, i, 100);
        if (malloc_usable_size(block) == 100)
            guarded_malloc++;
        char *zeroed = calloc(1, 100);
        for (int j = 0; j < 100; j++)
            if (zeroed[j] != 0 || block[j] != (char)i)
                return 1;
        if (malloc_usable_size(zeroed) == 100)
            guarded_calloc++;
        /* The first byte of a freed block is reused by the allocator; a later block of this
         * loop is written over in full again. */
        memset(zeroed, 0xff, 100);
        free(block);
        free(zeroed);
    }
    printf("%d %d\n", guarded_malloc, guarded_calloc);
    return 0;
}
