/* A block `q`, then a block `p` in the slot after it; `p` is freed and written through its
   dangling pointer (argv[1]: "store", a plain store; "memset", a libc call; "strcpy"), then
   `q` is freed ("store_old": a plain store after 4 MB more of frees, which leave `p` out of
   gpa's quarantine and in Valgrind's list of freed blocks). The write lies inside the freed block `p`, in the free slot right after
   `q`'s: it is a write after free of `p` (as Valgrind reports it), reported once, and never
   an overflow of `q`. Prints both blocks' addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *volatile sink;

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "store";
    char *q = malloc(16);
    char *p = malloc(16);
    memset(q, 'q', 16);
    printf("q %p\np %p\n", (void *)q, (void *)p);
    fflush(stdout);
    free(p);
    if (!strcmp(how, "store")) {
        sink = p;
        sink[8] = 'x'; /* @store */
    } else if (!strcmp(how, "store_old")) {
        for (int i = 0; i < 4096; i++) free(malloc(1000));
        sink = p;
        sink[8] = 'x'; /* @store_old */
    } else if (!strcmp(how, "memset")) {
        memset(p + 2, 1, 4); /* @memset */
    } else if (!strcmp(how, "strcpy")) {
        strcpy(p, how + 3); /* @strcpy: "cpy", a call gcc does not inline */
    }
    free(q);
    puts("done");
    return 0;
}
