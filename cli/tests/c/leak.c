/* Planted bug: a 100-byte block whose only pointer is dropped (leak_site). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

static char *kept; /* still reachable at exit: counted, not reported */

__attribute__((noinline)) static void leak_site(void) {
    char *lost = malloc(100);
    strcpy(lost, "nobody frees me");
    lost = NULL;
}

__attribute__((noinline)) static void keep_site(void) { kept = malloc(50); }

int main(void) {
    leak_site();
    keep_site();
    puts("leak done");
    return 0;
}
