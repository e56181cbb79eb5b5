/* glibc's other names for its allocator (`__libc_malloc`, `__libc_free`, the old `cfree`, ...)
   called directly, mixed with the standard names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);
/* `cfree` is a compatibility symbol: only programs linked before glibc 2.26 reach it. */
__asm__(".symver old_cfree, cfree@GLIBC_2.2.5");
extern void old_cfree(void *);

static void *volatile keep;

/* Cases (argv[1]): libc_malloc_free, malloc_libc_free, malloc_cfree, family, pvalloc (clean);
   leaks, double_free, overflow (one mistake each). Prints "done". */

int main(int argc, char **argv) {
    const char *c = argc > 1 ? argv[1] : "";
    if (!strcmp(c, "libc_malloc_free")) {
        char *p = __libc_malloc(10);
        strcpy(p, "hi");
        free(p);
    } else if (!strcmp(c, "malloc_libc_free")) {
        char *p = malloc(10);
        strcpy(p, "hi");
        __libc_free(p);
    } else if (!strcmp(c, "malloc_cfree")) {
        char *p = malloc(10);
        strcpy(p, "hi");
        old_cfree(p);
    } else if (!strcmp(c, "family")) {
        char *p = __libc_calloc(4, 8);
        p = __libc_realloc(p, 100);
        char *q = __libc_memalign(64, 10);
        char *v = __libc_valloc(10);
        __libc_free(p);
        free(q);
        __libc_free(v);
    } else if (!strcmp(c, "pvalloc")) {
        /* Valgrind 3.19 aborts on pvalloc; glibc gives a block of whole pages. */
        char *w = __libc_pvalloc(10);
        w[4095] = 1;
        __libc_free(w);
    } else if (!strcmp(c, "leaks")) {
        keep = __libc_malloc(10);
        keep = 0;
        keep = __libc_calloc(3, 8);
        keep = 0;
        keep = __libc_memalign(64, 40);
        keep = 0;
    } else if (!strcmp(c, "double_free")) {
        char *p = __libc_malloc(10);
        __libc_free(p);
        __libc_free(p);
    } else if (!strcmp(c, "overflow")) {
        char *p = __libc_malloc(10);
        p[10] = 1;
        __libc_free(p);
    }
    puts("done");
    return 0;
}
