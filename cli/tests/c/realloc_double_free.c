/* Planted bug: free of the pointer realloc already gave up (the block moved).
 * Valgrind 3.19: "Invalid free() ... 0 bytes inside a block of size 32 free'd" at realloc,
 * alloc'd at malloc in make_names. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static char *make_names(void) { return malloc(32); }

__attribute__((noinline)) static void drop(char *names) { free(names); }

int main(void) {
    char *names = make_names();
    names[0] = 1;
    char *more = realloc(names, 300);
    drop(names);
    free(more);
    puts("realloc double free done");
    return 0;
}
