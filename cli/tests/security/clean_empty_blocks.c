#include "security.h"
#include <malloc.h>
/* Blocks of no bytes used correctly: allocated, sized, grown, shrunk to nothing, freed. */
int main(void) {
    char *blocks[64];
    for (int round = 0; round < 1000; round++) {
        for (int index = 0; index < 64; index++)
            blocks[index] = get_block(0);
        for (int index = 0; index < 64; index++) {
            if (malloc_usable_size(blocks[index]) != 0)
                return 1;
            put_block(blocks[index]);
        }
    }
    char *empty = calloc(0, BLOCK);
    char *grown = realloc(get_block(0), BLOCK);
    fill_bytes(grown, 1, BLOCK);
    if (realloc(grown, 0) != NULL)
        return 2;
    char *aligned = aligned_alloc(64, 0);
    if (aligned == NULL || (size_t)aligned % 64 != 0)
        return 3;
    void *posix = NULL;
    if (posix_memalign(&posix, 128, 0) != 0 || (size_t)posix % 128 != 0)
        return 4;
    put_block(empty);
    put_block(aligned);
    put_block(posix);
    put_block(realloc(NULL, 0));
    survived();
    return 0;
}
