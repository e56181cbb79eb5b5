/* Huge blocks never touched but for one page, at exit (cli/tests/exit_huge.rs).
 *
 * Four blocks of `argv[1]` MiB (default 16384: 16 GiB each as in Toyota ITC's
 * memory_allocation_failure_003, granted by overcommit; halved until malloc grants them, the
 * size used is printed). A pointer to a small block is stored in a
 * page in the middle of two of them, the only pointer to it each time: of huge[0], kept
 * reachable by a global (its small block is then still reachable), and of huge[1], leaked
 * (its small block indirectly lost). huge[2] is leaked untouched, huge[3] freed.
 *
 * Valgrind 3.19 refuses blocks this large; with `1024` (1 GiB blocks) it says
 * (--leak-check=full --show-leak-kinds=all):
 *   definitely lost: 1,073,741,824 bytes in 1 blocks
 *   indirectly lost: 0 bytes in 0 blocks
 *     possibly lost: 1,073,741,864 bytes in 2 blocks
 *   still reachable: 1,073,741,848 bytes in 2 blocks
 * huge[1] and its 40-byte block "possibly lost" because of two words of Valgrind's own
 * preload library pointing inside huge[1] (cli/tests/exit_huge.rs says more).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *kept;

/* Stores `pointer` in the middle of `block` (`size` bytes): the only page of it touched. */
static void store_in_middle(char *block, size_t size, void *pointer) {
    memcpy(block + size / 2, &pointer, sizeof pointer);
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 16384;
    char *huge[4];
    size_t size;
    for (;;) {
        size = mib << 20;
        int got = 0;
        while (got < 4 && (huge[got] = malloc(size)) != NULL)
            got++;
        if (got == 4)
            break;
        while (got > 0)
            free(huge[--got]);
        if (mib <= 1024) {
            printf("malloc of %zu MiB failed\n", mib);
            return 1;
        }
        mib /= 2;
    }
    store_in_middle(huge[0], size, malloc(24));
    store_in_middle(huge[1], size, malloc(40));
    kept = huge[0];
    free(huge[3]);
    huge[0] = huge[1] = huge[2] = huge[3] = NULL;
    printf("blocks of %zu MiB\n", mib);
    return 0;
}
