/* Stack-trace sweep: a library built -O2 without frame pointers, linked and dlopen'd
   (trace_lib_main.c). */
#include <stdlib.h>
#include <string.h>
static void *volatile lib_keep;
__attribute__((noinline)) static char *lib_static(size_t n)
{
    char *p = malloc(n);
    memset(p, 'x', n);
    return p;
}
__attribute__((noinline)) char *lib_make(size_t n)
{
    char *p = lib_static(n);
    lib_keep = p;
    p[1] = 0;
    lib_keep = 0;
    return p;
}
