/* memccpy whose source and destination overlap over the bytes it copies (through the first
 * '#'), and a wcpncpy that writes past the end of its heap block.
 *
 * Valgrind 3.19 (valgrind --leak-check=full): "Source and destination overlap in
 * mempcpy(0x4a4004a, 0x4a40040, 16)" at line 22 (glibc's memccpy copies with mempcpy), and
 * "Invalid write of size 4 ... 20 bytes inside a block of size 22 alloc'd" at line 24
 * (twice: two 4-byte stores of glibc's memset). gpa found the overflow only at the free
 * (line 25), and not the overlap; now both at their calls. A wcpcpy of 24 bytes into 20
 * (line 28): "Invalid write of size 8 ... 16 bytes inside a block of size 20 alloc'd" at
 * line 28. 4 errors from 4 contexts, no leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

int main(void) {
    char *text = strdup("a line of text # and the rest of it");
    size_t length = strlen(text);
    const wchar_t word[] = L"Hello";
    wchar_t *narrow = malloc(5 * sizeof(wchar_t) + 2);

    memccpy(text + 10, text, '#', length - 10);
    /* Copies "Hello" and pads with one L'\0': 6 wide characters, 24 bytes, into 22. */
    wcpncpy(narrow, word, 6);
    free(narrow);
    free(text);
    wchar_t *small = malloc(5 * sizeof(wchar_t));
    wcpcpy(small, word); /* "Hello" and its L'\0': 24 bytes into 20. */
    free(small);
    printf("done\n");
    return 0;
}
