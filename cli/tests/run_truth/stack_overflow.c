/* Leaks 40 bytes, then recurses until the stack overflows (SIGSEGV). Valgrind: "Stack
 * overflow in thread #1", "Process terminating with default action of signal 11 (SIGSEGV)",
 * exit status 139. */
#include <stdio.h>
#include <stdlib.h>
static int depth(int n) {
    volatile char frame[256];
    frame[0] = (char)n;
    return depth(n + 1) + frame[0];
}
int main(int argc, char **argv) {
    char *kept = malloc(40);
    kept[0] = 1;
    fputs("recursing\n", stderr);
    return depth(argc) + kept[0];
}
