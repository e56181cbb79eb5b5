/* Planted bug: a write into a zero-size allocation (made in make_empty). */
#include <stdlib.h>
#include <stdio.h>

__attribute__((noinline)) static char *make_empty(void) { return malloc(0); }

int main(void) {
    char *empty = make_empty();
    empty[0] = 'x';
    free(empty);
    puts("zero size done");
    return 0;
}
