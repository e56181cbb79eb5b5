#include <stdlib.h>

/* Once stripped, only exported_alloc has a name. Its call to make_block is followed at once
 * by the call on the next line: the return address is on another line than the call. */
void *kept_block;

static __attribute__((noinline)) void make_block(size_t size) { kept_block = malloc(size); }

static __attribute__((noinline)) void forget_block(void) { kept_block = 0; }

void *exported_alloc(size_t size) {
    make_block(size);
    forget_block();
    return 0;
}
