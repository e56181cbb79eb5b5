/* Planted bug: the same block freed twice (second free in release_twice). */
#include <stdlib.h>
#include <stdio.h>

__attribute__((noinline)) static char *make_buffer(void) { return malloc(40); }

__attribute__((noinline)) static void release_twice(char *buffer) {
    free(buffer);
    free(buffer);
}

int main(void) {
    char *buffer = make_buffer();
    buffer[0] = 1;
    release_twice(buffer);
    puts("double free done");
    return 0;
}
