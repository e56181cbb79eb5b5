/* Installs its own SIGSEGV handler, then reads one byte past the end of a 128-byte block.
 * Under guard mode the read faults on the guard page: that fault is gpa's finding, reported
 * as an overflow, and the process ends as the signal would have (the handler does not run). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_segv(int signal) {
    (void)signal;
    write(2, "own handler ran\n", 16);
    _exit(3);
}

int main(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_segv;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, NULL);
    volatile char *block = malloc(128);
    memset((char *)block, 1, 128);
    printf("%d\n", block[128]);
    free((char *)block);
    return 0;
}
