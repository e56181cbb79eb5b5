/* One mistake on a block of the memalign family: argv[1] names the function (memalign,
   posix_memalign, aligned_alloc, valloc, pvalloc), argv[2] the alignment, argv[3] the mistake
   (overflow, write_after_free, double_free, leak). Prints the pointer it got and the block's
   size (pvalloc rounds the 100 bytes asked for up to whole pages), to compare the report with. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *make_aligned(const char *function, size_t align) {
    void *block = NULL;
    if (!strcmp(function, "memalign")) block = memalign(align, 100);
    else if (!strcmp(function, "posix_memalign")) {
        if (posix_memalign(&block, align, 100)) block = NULL;
    } else if (!strcmp(function, "aligned_alloc")) block = aligned_alloc(align, 100);
    else if (!strcmp(function, "valloc")) block = valloc(100);
    else if (!strcmp(function, "pvalloc")) block = pvalloc(100);
    return block;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    size_t size = strcmp(argv[1], "pvalloc") ? 100 : 4096;
    char *block = make_aligned(argv[1], strtoul(argv[2], NULL, 0));
    if (!block) return 3;
    memset(block, 1, size);
    printf("block %p %zu\n", (void *)block, size);
    fflush(stdout);
    if (!strcmp(argv[3], "overflow")) {
        block[size] ^= 'A';
        free(block);
    } else if (!strcmp(argv[3], "write_after_free")) {
        free(block);
        block[8] ^= 'A';
    } else if (!strcmp(argv[3], "double_free")) {
        free(block);
        free(block);
    } else if (!strcmp(argv[3], "leak")) {
        block = NULL;
    }
    puts("done");
    return 0;
}
