/* After Dr. Memory's tests/free.c (DynamoRIO/drmemory): blocks of 64 sizes freed at once and
 * then read (only a delayed reuse catches every read), a write into a freed 64-byte block, and a
 * write past a freed 2-byte block; free (NULL). Written for gpa; no upstream code. */
#include <stdio.h>
#include <stdlib.h>

#define COUNT 64

int main(void) {
    char *p[COUNT], *x;
    volatile char c;
    int i;
    free(NULL);
    for (i = 0; i < COUNT; i++) {
        p[i] = malloc(COUNT - i);
        free(p[i]);
    }
    for (i = 0; i < COUNT; i++)
        c = p[i][3]; /* line 19: read of freed memory (or past a freed block below 4 bytes) */
    x = malloc(64);
    free(x);
    x[32] = 0xe; /* line 22: write into a freed 64-byte block */
    x = malloc(2);
    free(x);
    x[2] = 0xe; /* line 25: write 0 bytes past a freed 2-byte block */
    printf("all done\n");
    return 0;
}
