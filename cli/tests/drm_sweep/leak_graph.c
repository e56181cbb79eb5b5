/* After Dr. Memory's tests/leak_indirect.c (DynamoRIO/drmemory): direct against indirect
 * leaks through head and interior pointers. A ==> B ==> C --> D, C ==> E, B --> F, C --> F,
 * X ==> D (==> a pointer to a block's start, --> into its middle); every block 32 bytes.
 * Written for gpa; no upstream code. */
#include <stdio.h>
#include <stdlib.h>

static void __attribute__((noinline)) build(void) {
    char **a = malloc(32), **b = malloc(32), **c = malloc(32), **d = malloc(32);
    char **e = malloc(32), **f = malloc(32), **x = malloc(32);
    a[0] = (char *)b;
    a[1] = a[2] = a[3] = NULL;
    b[0] = (char *)c;
    b[1] = (char *)f + 8;
    b[2] = b[3] = NULL;
    c[0] = (char *)d + 8;
    c[1] = (char *)e;
    c[2] = (char *)f + 8;
    c[3] = NULL;
    d[0] = d[1] = d[2] = d[3] = NULL;
    e[0] = e[1] = e[2] = e[3] = NULL;
    f[0] = f[1] = f[2] = f[3] = NULL;
    x[0] = x[2] = x[3] = NULL;
    x[1] = (char *)d;
}

static void __attribute__((noinline)) scrub(void) {
    volatile char buf[4096];
    for (int i = 0; i < 4096; i++)
        buf[i] = 0;
}

int main(void) {
    build();
    scrub();
    printf("all done\n");
    return 0;
}
