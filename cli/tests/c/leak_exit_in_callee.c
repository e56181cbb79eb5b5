/* Leak roots: the frames that called `exit` are live. `main` calls `finish`, which calls
 * `exit` while `main` still holds a 321-byte block in a local: still reachable; the 12-byte
 * block it dropped is definitely lost (Valgrind agrees). */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static void finish(char *held) {
    puts("done");
    exit(held[0] == 9);
}

int main(void) {
    char *held = malloc(321);
    held[0] = 1;
    char *dropped = malloc(12);
    dropped[0] = 2;
    dropped = NULL;
    finish(held);
}
