/* The same invalid free again and again: of one static block (one address) and of addresses
 * inside a stack array (64 addresses), each from one line, as a program stuck in a loop of
 * mistakes makes them (Toyota ITC's free_nondynamic_allocated_memory_007: `while (1)
 * free("a");`). memcheck counts them in one error context per line: "Invalid free() /
 * delete / delete[] / realloc()" twice, "ERROR SUMMARY: 150000 errors from 2 contexts" for
 * the default 100,000. `./invalid_free_loop N` makes N and N / 2. */
#include <stdio.h>
#include <stdlib.h>

static char text[] = "a";

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    char stack[64];
    for (long i = 0; i < n; i++)
        free(text);
    for (long i = 0; i < n / 2; i++)
        free(stack + i % 64);
    puts("done");
    return 0;
}
