/* CWE-122 (heap-based buffer overflow): a reduction of our own of Juliet's
 * CWE122_Heap_Based_Buffer_Overflow__c_CWE193_char_{cpy,loop,ncpy}_01.c (a block one byte
 * short of its string's NUL), __c_CWE805_{char_ncat,int_memcpy,wchar_t_snprintf}_01.c (a
 * copy sized by the destination it should fit), __CWE131_memcpy_01.c and __sizeof_struct_01.c
 * (sized by the count, or by sizeof the pointer: Juliet's structure and double are 8 bytes,
 * as its pointer is on x86-64, so its own is clean there; ours is 16), __c_dest_char_cat_01.c
 * and __c_CWE193_wchar_t_cpy_01.c. "bad": each overflow into its own block, freed after;
 * "good": the same copies into blocks of the right size. Overflows stay small: Juliet's own
 * write 50 bytes and more past 50-byte blocks, past Valgrind's 16-byte redzones into its heap
 * metadata ("Heap block lo/hi size mismatch": Valgrind aborts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define TEN "0123456789"

struct pair {
    long first;
    long second;
};

static void run(int good) {
    int extra = good ? 1 : 0;
    char *cpy = malloc(10 + extra);
    strcpy(cpy, TEN);
    char *loop = malloc(10 + extra);
    for (size_t i = 0; i < 11; i++)
        loop[i] = i < 10 ? TEN[i] : '\0';
    char *cat = malloc(8 + extra * 3);
    strcpy(cat, "01234");
    strcat(cat, "5678");
    char *ncpy = malloc(4 + extra * 2);
    strncpy(ncpy, TEN, 6);
    int source[10] = {0};
    int *ints = malloc(good ? sizeof source : 10);
    memcpy(ints, source, sizeof source);
    struct pair *pair = malloc(good ? sizeof(*pair) : sizeof(pair));
    pair->first = 1;
    pair->second = 2;
    wchar_t *wide = malloc((10 + extra) * sizeof(wchar_t));
    wcscpy(wide, L"0123456789");
    char *printed = malloc(8 + extra * 3);
    snprintf(printed, 11, "%s", TEN);
    free(cpy);
    free(loop);
    free(cat);
    free(ncpy);
    free(ints);
    free(pair);
    free(wide);
    free(printed);
}

int main(int argc, char **argv) {
    run(argc > 1 && strcmp(argv[1], "good") == 0);
    puts("done");
    return 0;
}
