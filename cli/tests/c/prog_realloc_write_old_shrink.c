/* A write through the address a block had before realloc shrank it. Valgrind's realloc always
 * moves the block, so the old address is freed memory. Valgrind 3.19: "Invalid write of size 1
 * ... 0 bytes inside a block of size 100 free'd" at realloc, alloc'd at malloc in main. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char *table = malloc(100);
    table[0] = 1;
    char *shrunk = realloc(table, 90);
    *(volatile char *)table = 2;
    shrunk[0] = 3;
    free(shrunk);
    puts("realloc shrink write old done");
    return 0;
}
