/* https://github.com/RI-SE/ATOS/pull/458
 * fgets(buffer, 250, f) into a 100-byte buffer while reading /proc/<pid>/stat: a line longer
 * than 100 bytes is written past the end of the buffer (here a heap block). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    FILE *f = fopen("stat.txt", "w");
    for (int i = 0; i < 30; i++)
        fprintf(f, "%d ", 1000000 + i);
    fputc('\n', f);
    fclose(f);
    f = fopen("stat.txt", "r");
    char *buffer = malloc(100);
    if (fgets(buffer, 250, f)) /* the bug */
        printf("%zu\n", strlen(buffer));
    fclose(f);
    free(buffer);
    return 0;
}
