#include <stdlib.h>

/* Not exported: once the library is stripped, no symbol names this function. */
static __attribute__((noinline)) void *hidden_alloc(size_t size) {
    void *block = malloc(size);
    return block;
}

void *exported_alloc(size_t size) {
    void *block = hidden_alloc(size);
    return block;
}
