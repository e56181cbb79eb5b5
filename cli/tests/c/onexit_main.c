/* `on_exit` called by `main` before any `atexit`: the first exit function of the process.
 * The function frees the program's table and prints the status `exit` passed it (7).
 * Valgrind 3.19: all heap blocks were freed; the program prints "on_exit status 7" and
 * exits with 7. */
#include <stdio.h>
#include <stdlib.h>

static void release(int status, void *argument) {
    char **table = argument;
    for (int i = 0; i < 4; i++)
        free(table[i]);
    free(table);
    printf("on_exit status %d\n", status);
    fflush(stdout);
}

int main(void) {
    char **table = malloc(4 * sizeof *table);
    for (int i = 0; i < 4; i++)
        table[i] = malloc(24 + i);
    if (on_exit(release, table) != 0)
        return 1;
    exit(7);
}
