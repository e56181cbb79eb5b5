/* Planted bug: one byte written past the end of a 10-byte block (off by one in fill_name). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

__attribute__((noinline)) static char *fill_name(void) {
    char *name = malloc(10);
    strcpy(name, "0123456789"); /* 11 bytes with the terminator */
    return name;
}

int main(void) {
    char *name = fill_name();
    free(name);
    puts("overflow by one done");
    return 0;
}
