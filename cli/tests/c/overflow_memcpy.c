/* Planted bug: memcpy of 64 bytes into a 32-byte block (allocated in make_small). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

__attribute__((noinline)) static char *make_small(void) { return malloc(32); }

int main(void) {
    char source[64];
    memset(source, 'x', sizeof source);
    char *small = make_small();
    memcpy(small, source, sizeof source);
    free(small);
    puts("memcpy overflow done");
    return 0;
}
