/* A write into a freed block after it left gpa's quarantine (256 KiB of later frees of
   another size), then an allocation that takes its slot again (argv[1] names the case). Under
   gpa's check mode the block is back on its page's free list, poisoned, and the allocation
   takes it first (the list is LIFO); Valgrind still holds it in its list of freed blocks
   (20 MB). Prints the case, `a 0x... SIZE OFFSET` (the freed block written, its size, the
   offset written) and "done".
     malloc   a = malloc(100), freed, pushed out; a[50] written; malloc(100)
     calloc   the same, then calloc(1, 100)
     realloc  the same, then c = malloc(40) moved by realloc(c, 100)
     memalign the same, then posix_memalign(16, 100)
     overflow x = malloc(100) and its three neighbours y1..y3 (gpa: the slots after x's), the
              neighbours freed and pushed out; a write from x far past its end, into y3
              (8 bytes inside it); malloc(100) three times
     exit     a written as in "malloc", then no allocation of its size: found at exit
     exec     a written as in "malloc", then `execl("/bin/true")`: found in the report gpa
              writes before the image goes (no "done")
     clean    100,000 allocations and frees of 1 to 600 bytes, every live block filled and
              checked, no fault */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *volatile sink;

static void report(char *a, size_t size, size_t offset) {
    printf("a %p %zu %zu\n", (void *)a, size, offset);
    fflush(stdout);
}

/* 2 MB of frees of 1,000-byte blocks (another size class than 100 bytes'): more than gpa's
   quarantine, less than Valgrind's list of freed blocks. */
static void push_out(void) {
    for (int i = 0; i < 2000; i++) {
        sink = malloc(1000);
        free(sink);
    }
}

static char *freed_and_written(void) {
    char *a = malloc(100);
    memset(a, 'a', 100);
    free(a); /* @free */
    push_out();
    report(a, 100, 50);
    sink = a;
    sink[50] = 'x'; /* @write */
    return a;
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "malloc";
    /* stdout's buffer first: under Valgrind it would otherwise take a freed block's place. */
    printf("%s\n", how);
    fflush(stdout);
    if (!strcmp(how, "malloc")) {
        freed_and_written();
        char *b = malloc(100); /* @malloc_take */
        free(b);
    } else if (!strcmp(how, "calloc")) {
        freed_and_written();
        char *b = calloc(1, 100); /* @calloc_take */
        printf("zero %d\n", b[0] == 0 && b[50] == 0 && b[99] == 0);
        free(b);
    } else if (!strcmp(how, "realloc")) {
        char *c = malloc(40);
        memset(c, 'c', 40);
        freed_and_written();
        c = realloc(c, 100); /* @realloc_take */
        printf("kept %d\n", c[0] == 'c' && c[39] == 'c');
        free(c);
    } else if (!strcmp(how, "memalign")) {
        freed_and_written();
        void *b = NULL;
        if (posix_memalign(&b, 16, 100)) return 1; /* @memalign_take */
        free(b);
    } else if (!strcmp(how, "overflow")) {
        char *x = malloc(100);
        char *y[3];
        for (int i = 0; i < 3; i++) y[i] = malloc(100);
        for (int i = 0; i < 3; i++) free(y[i]); /* @overflow_free */
        push_out();
        report(y[2], 100, 8);
        size_t far = (size_t)(y[2] - x) + 8;
        sink = x;
        sink[far] = 'x'; /* @overflow_write */
        char *b[3];
        for (int i = 0; i < 3; i++) b[i] = malloc(100); /* @overflow_take */
        for (int i = 0; i < 3; i++) free(b[i]);
        free(x);
    } else if (!strcmp(how, "exit")) {
        freed_and_written();
    } else if (!strcmp(how, "exec")) {
        freed_and_written();
        execl("/bin/true", "true", (char *)NULL);
        return 3;
    } else if (!strcmp(how, "clean")) {
        enum { HELD = 512 };
        char *held[HELD] = {0};
        size_t sizes[HELD] = {0};
        uint32_t seed = 12345;
        long bad = 0;
        for (int i = 0; i < 100000; i++) {
            seed = seed * 1103515245u + 12345u;
            int at = (seed >> 8) % HELD;
            if (held[at]) {
                for (size_t k = 0; k < sizes[at]; k++) bad += held[at][k] != (char)at;
                free(held[at]);
            }
            sizes[at] = 1 + (seed >> 16) % 600;
            held[at] = malloc(sizes[at]);
            memset(held[at], (char)at, sizes[at]);
        }
        for (int at = 0; at < HELD; at++) free(held[at]);
        printf("bad %ld\n", bad);
    }
    puts("done");
    return 0;
}
