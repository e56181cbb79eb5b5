/* Stack-trace sweep (docs/sweeps/traces.md): leaks allocated through always-inline helpers,
   a static function, tail calls; built at -O0 to -O3, with and without frame pointers, -g1,
   without -g, stripped, PIE and not, with split debug info. */
#include <stdlib.h>
#include <string.h>

void *volatile sink;

static inline __attribute__((always_inline)) void *inner(size_t n)
{
    return malloc(n);
}

static inline __attribute__((always_inline)) void *outer(size_t n)
{
    return inner(n + 1);
}

__attribute__((noinline)) void *via_inline(size_t n)
{
    char *p = outer(n);
    p[0] = 1;
    return p;
}

__attribute__((noinline)) static void *static_helper(size_t n)
{
    char *p = malloc(n);
    memset(p, 2, n);
    return p;
}

__attribute__((noinline)) void *tail_to_malloc(size_t n)
{
    return malloc(n * 3);
}

__attribute__((noinline)) void *tail_to_helper(size_t n)
{
    return static_helper(n + 7);
}

__attribute__((noinline)) void *calls_tail(size_t n)
{
    void *p = tail_to_helper(n);
    sink = p;
    return 0;
}

int main(void)
{
    sink = via_inline(10);
    sink = static_helper(20);
    sink = tail_to_malloc(10);
    calls_tail(3);
    sink = 0;
    return 0;
}
