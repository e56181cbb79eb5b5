/* Planted bug: one byte written before the start of a block (allocated in make_field). */
#include <stdlib.h>
#include <stdio.h>

__attribute__((noinline)) static char *make_field(void) { return malloc(48); }

int main(void) {
    char *field = make_field();
    field[-1] = 'x';
    free(field);
    puts("underflow done");
    return 0;
}
