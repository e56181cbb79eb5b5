/* A shared library whose constructor keeps a buffer and registers, with glibc's `on_exit`
 * (not `atexit`, which calls `__cxa_atexit`), the function that frees it. The loader runs
 * this constructor before the preloaded library's, so the function is registered before
 * anything else. Valgrind 3.19: all heap blocks were freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *buffer;

static void release(int status, void *argument) {
    (void)status;
    free(argument);
    buffer = NULL;
}

__attribute__((constructor)) static void keep(void) {
    buffer = malloc(100);
    strcpy(buffer, "kept by the library until exit");
    on_exit(release, buffer);
}

const char *onexit_library_text(void) { return buffer; }
