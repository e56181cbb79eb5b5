/* Planted bug: a write one byte past a 20-byte block, found when realloc moves the block
 * (check mode's realloc entry checks the redzone of the block it gives up).
 * Valgrind 3.19: "Invalid write of size 1 ... 0 bytes after a block of size 20 alloc'd" at
 * malloc in make_line. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static char *make_line(void) { return malloc(20); }

int main(void) {
    char *line = make_line();
    line[20] = 'x';
    line = realloc(line, 400);
    line[0] = 1;
    free(line);
    puts("realloc overflow done");
    return 0;
}
