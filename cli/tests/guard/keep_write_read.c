/* Guard mode keeps a freed block's contents: a write after free, then reads back of it and
 * of what the block held before its free. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    long *cells = malloc(4 * sizeof *cells);
    cells[0] = 1;
    free(cells);
    cells[1] = 42;
    printf("written %ld\n", cells[1]);
    printf("held %ld\n", cells[0]);
    return 0;
}
