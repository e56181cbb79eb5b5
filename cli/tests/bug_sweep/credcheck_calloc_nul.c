/* https://github.com/HexaCluster/credcheck/pull/74
 * to_nlower(): calloc(strlen(str), 1) leaves no room for the terminator, which is then
 * written one byte past the block. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *to_nlower(const char *str, size_t max) {
    char *lower_str = calloc(strlen(str), sizeof(char));
    size_t i = 0;
    for (; str[i] && i < max; i++)
        lower_str[i] = tolower((unsigned char)str[i]);
    lower_str[i] = '\0'; /* the bug */
    return lower_str;
}

int main(void) {
    char *s = to_nlower("PassWord123", 100);
    printf("%.11s\n", s);
    free(s);
    return 0;
}
