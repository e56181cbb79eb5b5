/* A write far past a block, into memory after it that no block holds yet, which an allocation
   then takes (argv[1] names the case; heapfuzz seeds 59 and 1032, reduced, are "malloc" and
   "realloc"). Under gpa's check mode the write lands in a never-used slot of the block's page
   (zero memory), beyond the block's redzone; the allocation that follows takes that very slot
   and writes its front guard and redzone over it. Prints the case, `a 0x... SIZE OFFSET`
   (the block written past, its size, the offset written) and "done".
     malloc   malloc(15), a[55], then malloc(10) (the next slot)
     realloc  malloc(27), a[90], then realloc(a, 32), which moves it into the next slot
     calloc   malloc(100), a[200], then calloc(1, 100)
     memalign malloc(100), a[200], then posix_memalign(64, 80)
     medium   malloc(20000), a[24600], then malloc(20000)
     far      malloc(15), three more freed, a[300] (four slots on), then malloc(15)
     end      malloc(3000) until one lies two slots before its page's end, the last byte of
              the page's last slot written, then malloc(3000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *volatile sink;

static void report(char *a, size_t size, size_t offset) {
    printf("a %p %zu %zu\n", (void *)a, size, offset);
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "malloc";
    /* stdout's buffer first: under Valgrind it would otherwise follow `a` and take the write. */
    printf("%s\n", how);
    fflush(stdout);
    if (!strcmp(how, "malloc")) {
        char *a = malloc(15);
        report(a, 15, 55);
        a[55] = 1; /* @malloc_write */
        char *b = malloc(10); /* @malloc_take */
        free(a);
        free(b);
    } else if (!strcmp(how, "realloc")) {
        char *a = malloc(27);
        report(a, 27, 90);
        a[90] = 1; /* @realloc_write */
        a = realloc(a, 32); /* @realloc_take */
        free(a);
    } else if (!strcmp(how, "calloc")) {
        char *a = malloc(100);
        report(a, 100, 200);
        a[200] = 1; /* @calloc_write */
        char *b = calloc(1, 100); /* @calloc_take */
        printf("zero %d\n", b[8] == 0 && b[99] == 0);
        free(b);
        free(a);
    } else if (!strcmp(how, "memalign")) {
        char *a = malloc(100);
        report(a, 100, 200);
        a[200] = 1; /* @memalign_write */
        void *b = NULL;
        if (posix_memalign(&b, 64, 80)) return 1; /* @memalign_take */
        free(b);
        free(a);
    } else if (!strcmp(how, "medium")) {
        char *a = malloc(20000);
        report(a, 20000, 24600);
        a[24600] = 1; /* @medium_write */
        char *b = malloc(20000); /* @medium_take */
        free(b);
        free(a);
    } else if (!strcmp(how, "far")) {
        char *a = malloc(15);
        char *b[3];
        for (int i = 0; i < 3; i++) b[i] = malloc(15);
        for (int i = 0; i < 3; i++) free(b[i]);
        report(a, 15, 300);
        a[300] = 1; /* @far_write */
        char *c = malloc(15); /* @far_take */
        free(c);
        free(a);
    } else if (!strcmp(how, "end")) {
        /* gpa's pages of 3,584-byte slots (a 3,000-byte block and its guards) are 64 KiB
           long, 18 slots, aligned to 64 KiB: allocate until a block lies in slot 16. */
        char *held[64];
        int count = 0;
        char *a = NULL;
        while (count < 64) {
            a = held[count++] = malloc(3000);
            if (((uintptr_t)a - 32) % 65536 / 3584 == 16) break;
        }
        size_t offset = 2 * 3584 - 32 - 1;
        report(a, 3000, offset);
        sink = a;
        sink[offset] = 1; /* @end_write */
        char *b = malloc(3000); /* @end_take */
        free(b);
        for (int i = 0; i < count; i++) free(held[i]);
    }
    puts("done");
    return 0;
}
