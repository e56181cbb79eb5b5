/* Planted bug: free of a static address (in free_static). */
#include <stdlib.h>
#include <stdio.h>

static char table[64];

__attribute__((noinline)) static void free_static(void) { free(table + 8); }

int main(void) {
    table[0] = 1;
    free_static();
    puts("static free done");
    return 0;
}
