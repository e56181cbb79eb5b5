/* A large block freed, then 2,000 other blocks (large and small) allocated and freed, then
   the first one freed again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *make_large(void) {
    char *block = malloc(256 * 1024);
    memset(block, 7, 256 * 1024);
    return block;
}

static void release(char *block) {
    free(block);
}

int main(void) {
    char *first = make_large();
    release(first);
    for (int i = 0; i < 2000; i++) {
        char *other = malloc(i % 2 ? 200 * 1024 : 48);
        other[0] = 1;
        free(other);
    }
    release(first);
    puts("done");
    return 0;
}
