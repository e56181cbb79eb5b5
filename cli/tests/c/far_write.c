/* A write 1 MiB before or after a block (argv[1]: its size, argv[2]: "before" or "after"),
   then more work with the heap. It may fault or be reported; it must never land silently in
   gpa's own data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    size_t size = strtoul(argv[1], NULL, 0);
    char *block = malloc(size);
    memset(block, 1, size);
    long distance = 1L << 20;
    char *target = !strcmp(argv[2], "before") ? block - distance : block + size - 1 + distance;
    printf("writing %p\n", (void *)target);
    fflush(stdout);
    *target ^= 'A';
    char *blocks[1000];
    for (int i = 0; i < 1000; i++) {
        blocks[i] = malloc(i * 7 + 1);
        memset(blocks[i], i, i * 7 + 1);
    }
    for (int i = 0; i < 1000; i++) free(blocks[i]);
    free(block);
    puts("done");
    return 0;
}
