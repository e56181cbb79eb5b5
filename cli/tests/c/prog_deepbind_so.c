/* A plugin that PHP's way of loading (dlopen with RTLD_DEEPBIND) binds to libc's malloc and
 * free instead of the preloaded ones: it frees the program's blocks, hands out blocks of its
 * own, loses one and overflows one (prog_deepbind.c loads it). */
#include <stdlib.h>
#include <string.h>

void lib_free(void *block) { free(block); }

void *lib_alloc(size_t size) { return malloc(size); }

/* 100 bytes whose only pointer dies with the call: definitely lost. */
__attribute__((noinline)) void lib_leak(void) {
    char *volatile block = malloc(100);
    memset(block, 'l', 100);
    block = NULL;
}

/* One byte written past a 10-byte block. */
__attribute__((noinline)) void lib_overflow(void) {
    char *volatile block = malloc(10);
    block[10] = 'x';
    free(block);
}
