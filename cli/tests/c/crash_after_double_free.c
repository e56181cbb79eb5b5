/* Planted bug: a double free (in release_twice), then the program crashes (SIGSEGV): the
 * report is written from the crash, and the exit status is the signal's. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static char *make_buffer(void) { return malloc(24); }

__attribute__((noinline)) static void release_twice(char *buffer) {
    free(buffer);
    free(buffer);
}

int main(void) {
    release_twice(make_buffer());
    puts("about to crash");
    fflush(stdout);
    volatile int *nowhere = NULL;
    return *nowhere;
}
