/* Planted bug: free of a pointer into the middle of a block (made in make_record). */
#include <stdlib.h>
#include <stdio.h>

__attribute__((noinline)) static char *make_record(void) { return malloc(64); }

int main(void) {
    char *record = make_record();
    free(record + 16);
    free(record);
    puts("middle free done");
    return 0;
}
