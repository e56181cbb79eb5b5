/* A write before an aligned block: argv[1] the alignment, argv[2] how many bytes before the
   start (1 to 32), argv[3] "free" or "keep" (never freed: found at exit). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *make_aligned(size_t align) {
    char *block = memalign(align, 100);
    memset(block, 0, 100);
    return block;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    char *block = make_aligned(strtoul(argv[1], NULL, 0));
    printf("block %p 100\n", (void *)block);
    block[-atol(argv[2])] ^= 'A';
    if (!strcmp(argv[3], "free")) free(block);
    puts("done");
    return 0;
}
