/* A write `distance` bytes past the end of a block of `size` bytes (argv[1], argv[2]: 1 is
   the first byte after it), then the block is freed, or kept (argv[3] = "keep": found at
   exit). Sizes 8, 4096 and 262144 take a small slot, a bigger slot, a large block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *make_buffer(size_t size) {
    char *block = malloc(size);
    memset(block, 0, size);
    return block;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    size_t size = strtoul(argv[1], NULL, 0);
    size_t distance = strtoul(argv[2], NULL, 0);
    char *block = make_buffer(size);
    printf("block %p %zu\n", (void *)block, size);
    block[size - 1 + distance] ^= 'A';
    if (argc < 4 || strcmp(argv[3], "keep")) free(block);
    puts("done");
    return 0;
}
