/* https://github.com/ros2/rcutils/pull/363
 * strndup(str, sizeof str) on an unterminated string: the length bound is one past the data,
 * so the length scan reads one byte past the end (here a heap block, with glibc's strndup). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    char *str = malloc(4);
    memcpy(str, "test", 4); /* strncpy(str, "test", 4): no terminator */
    char *copy = strndup(str, 5); /* the bug: 5 > the 4 bytes there */
    printf("%s\n", copy);
    free(copy);
    free(str);
    return 0;
}
