/* https://github.com/ssrg-vt/SlimGuard/issues/4
 * memalign() then free() (and posix_memalign, aligned_alloc, valloc, reallocarray growth):
 * all legal; the report came from mixing two allocators. One aligned block is leaked on
 * purpose: definitely lost, 200 bytes. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    void *a = memalign(64, 100);
    void *b;
    posix_memalign(&b, 4096, 300);
    void *c = aligned_alloc(32, 64);
    void *d = valloc(10);
    int *e = NULL;
    for (size_t n = 1; n <= 1024; n *= 2)
        e = reallocarray(e, n, sizeof *e);
    e[1023] = 7;
    void *lost = memalign(128, 200);
    printf("%d %d %d %d %d\n", (int)((unsigned long)a % 64), (int)((unsigned long)b % 4096),
           (int)((unsigned long)c % 32), (int)((unsigned long)d % 4096), e[1023]);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    lost = NULL;
    return 0;
}
