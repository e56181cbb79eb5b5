/* memccpy whose source and destination overlap over the bytes it copies (through the first
 * '#'), and a wcpncpy that writes past the end of its heap block.
 *
 * Valgrind 3.19 (valgrind --leak-check=full): "Source and destination overlap in
 * mempcpy(...)" at line 19 (glibc's memccpy copies with mempcpy), and "Invalid write of size
 * 4 ... 20 bytes inside a block of size 22 alloc'd" at line 21 (twice: two 4-byte stores of
 * glibc's memset), 3 errors, no leak. gpa finds the overflow only at the free (line 22), and
 * not the overlap. */
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
    printf("done\n");
    return 0;
}
