/* Reduced from apt-cache (Debian apt 2.6): a library that the program links against
 * registers, from its constructor, more exit functions (C++ static destructors under
 * __cxa_atexit) than glibc's static list holds (32); glibc mallocs further lists of 32
 * (__new_exitfn, 1040 bytes each) and frees each one while exit runs its functions. One of
 * them frees a buffer the library keeps. Valgrind 3.19 checks leaks after exit ran every
 * function: all heap blocks freed. */
#include <stdlib.h>

static char *buffer;

static void nothing(void) {}

static void release(void)
{
    free(buffer);
}

__attribute__((constructor)) static void register_many(void)
{
    buffer = malloc(100);
    atexit(release);
    for (int i = 0; i < 100; i++)
        atexit(nothing);
}

void prog_atexit_lists_so(void) {}
