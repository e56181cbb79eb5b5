/* Planted bug: an overflow of a block that is never freed (found by the check at exit). */
#include <stdlib.h>
#include <stdio.h>

static char *kept;

__attribute__((noinline)) static void make_kept(void) { kept = malloc(20); }

int main(void) {
    make_kept();
    kept[20] = 'x';
    puts("overflow at exit done");
    return 0;
}
