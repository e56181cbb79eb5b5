/* The mallinfo family on a heap of known blocks: 64 blocks of 1,000 bytes, the figures before
   and after they are allocated and after they are freed, then malloc_stats, malloc_info (to
   argv[1], or stdout), malloc_trim and mallopt's return codes. Each figure is printed as
   "name value" on a line of its own, for the test to read. Valgrind 3.19 replaces mallinfo
   (and mallinfo2 by the same name match, figures of its own heap) and reports no error. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT 64
#define SIZE 1000

static void print2(const char *when, struct mallinfo2 info) {
    printf("%s arena %zu\n", when, info.arena);
    printf("%s ordblks %zu\n", when, info.ordblks);
    printf("%s smblks %zu\n", when, info.smblks);
    printf("%s hblks %zu\n", when, info.hblks);
    printf("%s hblkhd %zu\n", when, info.hblkhd);
    printf("%s usmblks %zu\n", when, info.usmblks);
    printf("%s fsmblks %zu\n", when, info.fsmblks);
    printf("%s uordblks %zu\n", when, info.uordblks);
    printf("%s fordblks %zu\n", when, info.fordblks);
    printf("%s keepcost %zu\n", when, info.keepcost);
}

int main(int argc, char **argv) {
    static char *blocks[COUNT];
    print2("before", mallinfo2());
    for (int i = 0; i < COUNT; ++i) {
        blocks[i] = malloc(SIZE);
        memset(blocks[i], i, SIZE);
    }
    char *large = malloc(1 << 20);
    memset(large, 1, 1 << 20);
    print2("allocated", mallinfo2());
    struct mallinfo old = mallinfo();
    printf("allocated old_uordblks %d\n", old.uordblks);
    printf("allocated old_hblkhd %d\n", old.hblkhd);
    for (int i = 0; i < COUNT; ++i) free(blocks[i]);
    free(large);
    print2("freed", mallinfo2());
    fflush(stdout);
    malloc_stats();
    FILE *xml = argc > 1 ? fopen(argv[1], "w") : stdout;
    printf("malloc_info %d\n", malloc_info(0, xml));
    errno = 0;
    printf("malloc_info_bad %d %d\n", malloc_info(1, xml), errno);
    if (xml != stdout) fclose(xml);
    printf("malloc_trim %d\n", malloc_trim(0));
    printf("mallopt_mmap_threshold %d\n", mallopt(M_MMAP_THRESHOLD, 256 * 1024));
    printf("mallopt_arena_max %d\n", mallopt(M_ARENA_MAX, 2));
    printf("mallopt_arena_max_0 %d\n", mallopt(M_ARENA_MAX, 0));
    printf("mallopt_perturb %d\n", mallopt(M_PERTURB, 0));
    printf("mallopt_mxfast_big %d\n", mallopt(M_MXFAST, 1 << 20));
    printf("mallopt_unknown %d\n", mallopt(12345, 1));
    return 0;
}
