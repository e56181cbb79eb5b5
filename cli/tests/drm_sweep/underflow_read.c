/* Beside Dr. Memory's tests/memalign.c (DynamoRIO/drmemory), which reads one byte before each
 * aligned block: the program's first block is an empty string, and `s[strlen (s) - 1]` reads
 * the byte before it (line 16); then the first block of each of 16 sizes is read one byte
 * before its start (line 21). glibc reads its chunk headers there. Written for gpa. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    static const size_t sizes[] = {8,   16,  24,   32,   48,   64,   100,  128,
                                   200, 256, 512, 1000, 2048, 4096, 8192, 20000};
    volatile char c;
    int read = 0;
    char *s = malloc(1);
    s[0] = 0;
    if (s[strlen(s) - 1] == '\n') /* line 16: reads s[-1] */
        s[strlen(s) - 1] = 0;
    read++;
    for (unsigned i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char *p = malloc(sizes[i]);
        c = p[-1]; /* line 21: one byte before the block */
        read++;
        free(p);
    }
    free(s);
    printf("read %d bytes before blocks\n", read);
    return 0;
}
