/* A clean program: with an argument it keeps one 100-byte block reachable from a global
 * until exit (memcheck: "in use at exit: 100 bytes in 1 blocks", "still reachable: 100 bytes
 * in 1 blocks", "ERROR SUMMARY: 0 errors"); without one it frees everything ("All heap
 * blocks were freed -- no leaks are possible", "ERROR SUMMARY: 0 errors"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *kept;

int main(int argc, char **argv) {
    char *scratch = malloc(64);
    strcpy(scratch, "clean");
    puts(scratch);
    free(scratch);
    if (argc > 1) {
        kept = malloc(100);
        memset(kept, 1, 100);
    }
    return 0;
}
