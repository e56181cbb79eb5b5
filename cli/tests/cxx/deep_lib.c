#include <stdlib.h>
#include <string.h>
/* Loaded with RTLD_DEEPBIND: its malloc is libc's own, not the preloaded one. */
void *deep_alloc(size_t size) {
    void *block = malloc(size);
    memset(block, 7, size);
    return block;
}
