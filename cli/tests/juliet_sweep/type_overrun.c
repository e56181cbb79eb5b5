/* A reduction of our own of Juliet's
 * CWE122_Heap_Based_Buffer_Overflow__char_type_overrun_{memcpy,memmove}_01.c: a copy sized by
 * the whole structure into its first member overwrites the pointer member after it with
 * text, and the program then reads through that pointer (puts: SIGSEGV, natively too). A
 * block lost before shows the leak check ran at the crash. Argument "strcpy" or "wcslen":
 * the wild pointer given to those instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define TEXT "0123456789abcdef0123456789abcde"

struct char_void {
    char first[16];
    void *second;
    void *third;
};

int main(int argc, char **argv) {
    char *lost = malloc(100);
    lost[0] = 'A';
    lost = NULL;
    struct char_void *s = malloc(sizeof(*s));
    s->second = (void *)TEXT;
    puts((char *)s->second);
    memcpy(s->first, TEXT, sizeof(*s));
    s->first[15] = '\0';
    puts(s->first);
    fflush(stdout);
    const char *variant = argc > 1 ? argv[1] : "puts";
    if (strcmp(variant, "strcpy") == 0) {
        char copy[64];
        strcpy(copy, (char *)s->second);
    } else if (strcmp(variant, "wcslen") == 0) {
        printf("%zu\n", wcslen((wchar_t *)s->second));
    } else {
        puts((char *)s->second);
    }
    free(s);
    return 0;
}
