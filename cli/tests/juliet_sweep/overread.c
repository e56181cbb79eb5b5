/* CWE-126 (buffer over-read) and CWE-127 (buffer under-read), heap variants, and CWE-124
 * (buffer underwrite): a reduction of our own of Juliet's
 * CWE126_Buffer_Overread__malloc_char_{loop,memmove}_01.c,
 * CWE127_Buffer_Underread__malloc_char_{cpy,loop,memmove}_01.c and
 * CWE124_Buffer_Underwrite__malloc_char_{memmove,loop}_01.c. "bad": reads past the end of a
 * small block by memmove (its length the larger buffer's) and by a loop; reads 8 bytes before
 * a block by memmove, strcpy and a loop; writes 8 bytes before one by memmove and by a loop
 * (that block is kept, not freed, as Juliet's: glibc would find its chunk header overwritten);
 * "good": the same within the blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *kept;

int main(int argc, char **argv) {
    int good = argc > 1 && strcmp(argv[1], "good") == 0;
    size_t shift = good ? 0 : 8;
    char dest[200];
    memset(dest, 'C', 99);
    dest[99] = '\0';
    char *small = malloc(50);
    memset(small, 'A', 49);
    small[49] = '\0';
    size_t length = good ? strlen(small) : strlen(dest);
    memmove(dest, small, length);
    size_t total = 0;
    for (size_t i = 0; i < length; i++)
        total += small[i];
    char *under = malloc(100);
    memset(under, 'B', 99);
    under[99] = '\0';
    char *before = under - shift;
    memmove(dest, before, 50);
    strcpy(dest, before);
    for (size_t i = 0; i < 8; i++)
        total += before[i];
    kept = malloc(100);
    char *write_before = kept - shift;
    memmove(write_before, dest, 8);
    for (size_t i = 0; i < 8; i++)
        write_before[i] = 'D';
    printf("%d\n", total > 0);
    free(small);
    free(under);
    puts("done");
    return 0;
}
