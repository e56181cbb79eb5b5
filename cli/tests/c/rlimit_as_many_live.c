/* Mallocs argv[1] blocks of 16 to 79 bytes (default 400,000), frees every other one and drops
 * the array that held them: at exit half of them are lost (indirectly, through the array,
 * itself definitely lost). Prints how many mallocs failed. Run under an address-space limit
 * (`ulimit -v`, RLIMIT_AS): gpa's own metadata for that many blocks, and its exit report's
 * tables, must find room where the program's blocks do. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 400000, failed = 0;
    void **blocks = malloc(sizeof *blocks * (size_t)count);
    if (blocks == NULL)
        return 2;
    for (int i = 0; i < count; i++) {
        blocks[i] = malloc(16 + (size_t)(i % 64));
        if (blocks[i] == NULL)
            failed++;
    }
    for (int i = 0; i < count; i += 2)
        free(blocks[i]);
    blocks = NULL;
    printf("failed %d of %d mallocs\n", failed, count);
    return 0;
}
