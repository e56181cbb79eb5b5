/* https://github.com/MoatLab/FEMU/pull/25
 * getline() allocates its buffer even when it fails (an empty file); the caller freed it only
 * on success: the 120-byte buffer is definitely lost. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    FILE *f = fopen("empty.txt", "w");
    fclose(f);
    f = fopen("empty.txt", "r");
    char *line = NULL;
    size_t n = 0;
    if (getline(&line, &n, f) != -1) {
        puts(line);
        free(line);
    }
    fclose(f);
    printf("%zu\n", n);
    return 0; /* the bug: line leaks when getline fails */
}
