/* Guard mode keeps a freed block's contents: the old block of a realloc that moved, read
 * after the move. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    char *old = malloc(16);
    strcpy(old, "old words");
    char *moved = realloc(old, 100000);
    printf("moved %d\n", moved != old);
    printf("old block says %c%c%c\n", old[0], old[1], old[2]);
    free(moved);
    return 0;
}
