/* Reduced from apt-cache (Debian apt 2.6): a library that the program links against
 * registers exit functions from its constructor, which runs before libgpa_preload.so's
 * (the loader initializes the program's libraries first), so gpa's exit hook is registered
 * after them and, exit functions running newest first, runs before those registered without
 * a library handle (C++ static destructors registered by code outside the library's own
 * atexit, here __cxa_atexit(f, 0, 0)). It also registers more exit functions than glibc's
 * static list holds (32): glibc mallocs further lists of 32 (__new_exitfn, 1040 bytes each)
 * and frees each one once exit walks past it. Valgrind 3.19 checks leaks after exit ran every
 * function: all heap blocks freed (the buffer by `release`, the lists by exit). */
#include <stdlib.h>

extern int __cxa_atexit(void (*function)(void *), void *argument, void *dso_handle);

static char *buffer;

static void nothing(void) {}

static void release(void *unused)
{
    (void)unused;
    free(buffer);
}

__attribute__((constructor)) static void register_many(void)
{
    buffer = malloc(100);
    __cxa_atexit(release, 0, 0);
    for (int i = 0; i < 100; i++)
        atexit(nothing);
}

void prog_atexit_lists_so(void) {}
