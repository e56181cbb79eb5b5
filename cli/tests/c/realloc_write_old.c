/* Planted bug: a write through the pointer realloc gave up (the block moved).
 * Valgrind 3.19: "Invalid write of size 1 ... 0 bytes inside a block of size 24 free'd" at
 * realloc, alloc'd at malloc in make_table. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static char *make_table(void) { return malloc(24); }

int main(void) {
    char *table = make_table();
    table[0] = 1;
    char *grown = realloc(table, 500);
    *(volatile char *)table = 2;
    grown[0] = 3;
    free(grown);
    puts("realloc write old done");
    return 0;
}
