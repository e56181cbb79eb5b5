/* https://github.com/maxmind/libmaxminddb/pull/237
 * mmdblookup: a string of size zero was copied into malloc(0) without a terminator and
 * then printed: printf's strlen reads the byte just past a zero-size block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    size_t width = 0; /* an empty UTF-8 conversion */
    char *utf8_string = malloc(width);
    memcpy(utf8_string, "", width);
    printf("[%s]\n", utf8_string); /* the bug */
    free(utf8_string);
    return 0;
}
