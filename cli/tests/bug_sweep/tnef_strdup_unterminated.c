/* https://github.com/verdammelt/tnef/pull/40
 * strdup() of a file name copied from the input without a terminator: strdup's strlen reads
 * past the end of the heap block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    const char input[] = "attachment.txtGARBAGE";
    size_t len = 14;
    char *name = malloc(len); /* no room for, and no, terminator */
    memcpy(name, input, len);
    char *copy = strdup(name); /* the bug */
    printf("%.14s\n", copy);
    free(copy);
    free(name);
    return 0;
}
