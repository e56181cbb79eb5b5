/* Leaks 40 bytes, then ends itself with SIGKILL, which no handler can catch: the process
 * leaves no report. Valgrind: "Process terminating with default action of signal 9
 * (SIGKILL)", exit status 137. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    char *kept = malloc(40);
    kept[0] = 1;
    fputs("killing myself\n", stderr);
    raise(SIGKILL);
    return kept[0];
}
