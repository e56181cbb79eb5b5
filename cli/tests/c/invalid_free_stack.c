/* Planted bug: free of a stack address (in free_local). */
#include <stdlib.h>
#include <stdio.h>

__attribute__((noinline)) static void free_local(void) {
    char local[32];
    local[0] = 0;
    free(local);
}

int main(void) {
    free_local();
    puts("stack free done");
    return 0;
}
