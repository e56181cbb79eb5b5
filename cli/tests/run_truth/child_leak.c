/* The child of cleared_env.c: loses 40 bytes directly (which point to 24 more, lost
 * indirectly) and keeps only an interior pointer to 32 more (possibly lost); with the
 * argument `env`, prints its environment first, one entry a line between `env:` and `end`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
extern char **environ;
static char *interior;
static void leak_site(void) {
    char **outer = malloc(40);
    memset(outer, 0, 40);
    outer[0] = malloc(24);
    memset(outer[0], 2, 24);
    char *possible = malloc(32);
    memset(possible, 0, 32);
    interior = possible + 5;
    outer = NULL;
}
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "env") == 0) {
        puts("env:");
        for (char **entry = environ; entry && *entry; entry++) puts(*entry);
        puts("end");
    }
    leak_site();
    return 0;
}
