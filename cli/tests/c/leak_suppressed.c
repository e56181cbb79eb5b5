/* Suppressions: one leak in "a third-party library" (third_party_cache, 64 bytes) that a
 * suppression file silences, and one of the program's own (own_leak, 32 bytes). */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void third_party_cache(void) {
    char *cache = malloc(64);
    cache[0] = 1;
}

__attribute__((noinline)) void own_leak(void) {
    char *mine = malloc(32);
    mine[0] = 1;
}

int main(void) {
    third_party_cache();
    own_leak();
    puts("done");
    return 0;
}
