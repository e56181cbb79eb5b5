/* A program that defines its own malloc and free (over a static buffer) but not calloc or
 * realloc, as Valgrind's static_malloc.c does, and loses one of its blocks. LD_PRELOAD cannot
 * replace a function the executable defines, so its blocks never reach gpa. gpa used to crash
 * at exit (its own allocations went to this malloc and their growth to gpa's realloc: exit
 * 139, no report); a clean report would claim a check that did not happen.
 *
 * Valgrind 3.19 (valgrind --leak-check=full): replaces malloc and free in the executable too,
 * "10 bytes in 1 blocks are definitely lost" (the first block), 1 error. */
#include <stddef.h>
#include <stdio.h>

static _Alignas(16) char arena[1 << 16];
static size_t used;

void *malloc(size_t size) {
    size_t rounded = (size + 15) & ~(size_t)15;
    if (rounded > sizeof arena - used)
        return NULL;
    used += rounded;
    return arena + used - rounded;
}

void free(void *block) {
    (void)block;
}

int main(void) {
    char *lost = malloc(10);
    char *kept = malloc(123);
    lost[0] = 'x';
    free(kept);
    printf("done\n");
    return 0;
}
