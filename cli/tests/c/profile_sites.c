/* Allocation sites with known counts for the heap profile, compared with Valgrind's DHAT:
 * kept blocks (half freed before the end), one big short block that makes the peak, a buffer
 * grown by realloc, a short-lived calloc. No stdio: every allocation is the program's own. */
#include <stdlib.h>
#include <string.h>

static void *keep[40];

static char *grow(char *buffer, size_t size) {
    return realloc(buffer, size);
}

int main(void) {
    for (int i = 0; i < 40; i++)
        keep[i] = malloc(100 + i);
    char *big = malloc(50000);
    memset(big, 1, 50000);
    free(big);
    char *buffer = NULL;
    for (int i = 1; i <= 8; i++)
        buffer = grow(buffer, i * 1000);
    for (int i = 0; i < 20; i++)
        free(keep[i]);
    int *scratch = calloc(300, sizeof *scratch);
    scratch[0] = 1;
    free(scratch);
    free(buffer);
    return keep[39] == NULL;
}
