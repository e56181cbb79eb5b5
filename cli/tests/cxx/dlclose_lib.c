#include <stdlib.h>

/* Built twice, with NAME=alloc_in_a and NAME=alloc_in_b: the same code at the same offsets. */
void *NAME(size_t size) {
    void *block = malloc(size);
    return block;
}
