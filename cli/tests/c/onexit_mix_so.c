/* A shared library whose constructor registers exit functions of all three kinds in turn
 * (`on_exit`, `__cxa_atexit` with the library's handle, `atexit`), the first an `on_exit`,
 * each freeing one block of its own. The loader runs this constructor before the preloaded
 * library's, so these are the process's first exit functions. With ONEXIT_COUNT (default 9)
 * above 32, glibc keeps its list of exit functions in blocks it mallocs (`__new_exitfn`,
 * 1040 bytes each), freed as `exit` walks past them. Each `on_exit` function checks the
 * status it is passed and counts a wrong one. Valgrind 3.19 (9 and 40): all heap blocks
 * were freed. */
#include <stdio.h>
#include <stdlib.h>

extern void *__dso_handle;
int __cxa_atexit(void (*function)(void *), void *argument, void *dso_handle);

#define MAX 64
static void *blocks[MAX];
static int freed, wrong_status;

static void free_on_exit(int status, void *argument) {
    free(argument);
    freed++;
    if (status != 3)
        wrong_status++;
}

static void free_cxa(void *argument) {
    free(argument);
    freed++;
}

/* `atexit` passes no argument: each call frees the next of the blocks left to `atexit`. */
static int atexit_blocks[MAX];
static int atexit_count, next_atexit;
static void free_atexit(void) {
    free(blocks[atexit_blocks[next_atexit++]]);
    freed++;
}

/* Registered first, so it runs last of the library's functions. */
static void summary(int status, void *argument) {
    (void)argument;
    printf("library: %d exit functions freed their blocks, %d saw a wrong status, status %d\n",
           freed, wrong_status, status);
    fflush(stdout);
}

__attribute__((constructor)) static void register_all(void) {
    const char *text = getenv("ONEXIT_COUNT");
    int count = text ? atoi(text) : 9;
    if (count > MAX)
        count = MAX;
    on_exit(summary, NULL);
    for (int i = 0; i < count; i++) {
        blocks[i] = malloc(16 + 8 * i);
        switch (i % 3) {
        case 0:
            on_exit(free_on_exit, blocks[i]);
            break;
        case 1:
            __cxa_atexit(free_cxa, blocks[i], &__dso_handle);
            break;
        default:
            atexit_blocks[atexit_count++] = i;
            atexit(free_atexit);
            break;
        }
    }
}

int onexit_mix_count(void) { return freed; }
