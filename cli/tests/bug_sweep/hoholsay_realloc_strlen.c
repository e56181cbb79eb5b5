/* https://github.com/IfkumRfnl/hoholsay/issues/2
 * Input read into a buffer grown with realloc and never terminated; strlen then reads past
 * the end of the block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    const char *input = "line of input of exactly sixty-four characters, no terminator...";
    size_t cap = 16, len = 0;
    char *str = malloc(cap);
    for (const char *p = input; *p; p++) {
        if (len == cap) {
            cap *= 2;
            str = realloc(str, cap);
        }
        str[len++] = *p;
    }
    /* len == cap == 64: no terminator */
    printf("%zu %d\n", len, strlen(str) >= len); /* the bug */
    free(str);
    return 0;
}
