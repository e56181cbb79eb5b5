/* A write of one byte into a freed block of SIZE bytes at its first, middle or last byte
 * (`first`, `middle`, `last`): check mode finds it when the block leaves the quarantine
 * (here at exit), whatever the block's size, on either side of the sizes where the poison
 * fill and check change method (slots of up to 256 bytes filled inline, larger ones by
 * `memset`; up to 128 bytes checked inline, larger ones by the AVX2 loop). Usage: write_after_free_sizes SIZE first|middle|last. Prints
 * `p ADDRESS OFFSET`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    size_t size = strtoul(argv[1], NULL, 10);
    size_t offset = strcmp(argv[2], "first") == 0    ? 0
                    : strcmp(argv[2], "middle") == 0 ? size / 2
                                                     : size - 1;
    char *p = malloc(size);
    if (!p) return 1;
    memset(p, 0x11, size);
    free(p);
    volatile char *stale = p;
    stale[offset] = 0x5A; /* the write after free */
    printf("p %p %zu\n", (void *)p, offset);
    puts("done");
    return 0;
}
