/* Beside Dr. Memory's tests/malloc.c (its realloc growing and shrinking blocks): the old
 * pointer used after realloc, once grown (moved by every allocator) and once shrunk (glibc
 * keeps it in place; Valgrind and gpa's check and guard modes move every realloc). Written for
 * gpa. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    char *p = malloc(20);
    memset(p, 1, 20);
    char *q = realloc(p, 4000);
    p[0] = 2; /* line 13: write into the block realloc freed */
    free(q);
    p = malloc(20);
    memset(p, 1, 20);
    q = realloc(p, 10);
    p[15] = 3; /* line 18: write 15 bytes into the old block (past the new one when in place) */
    printf("done\n");
    free(q);
    return 0;
}
