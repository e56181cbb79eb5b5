/* CWE-761 (free of a pointer not at the start of the buffer): a reduction of our own of
 * Juliet's CWE761_Free_Pointer_Not_at_Start_of_Buffer__{char,wchar_t}_fixed_string_01.c.
 * "bad": a heap string searched by advancing its pointer, the advanced pointer freed (glibc
 * aborts: "free(): invalid pointer"); argument "wide": the same with wchar_t; "good": the
 * search by index, the start freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static void narrow(int good) {
    char *data = malloc(100);
    strcpy(data, "a string with an S in it");
    if (good) {
        for (size_t i = 0; data[i] != '\0'; i++)
            if (data[i] == 'S') {
                puts("found it");
                break;
            }
    } else {
        for (; *data != '\0'; data++)
            if (*data == 'S') {
                puts("found it");
                break;
            }
    }
    free(data);
}

static void wide(void) {
    wchar_t *data = malloc(100 * sizeof(wchar_t));
    wcscpy(data, L"a wide string with an S in it");
    for (; *data != L'\0'; data++)
        if (*data == L'S') {
            puts("found it");
            break;
        }
    free(data);
}

int main(int argc, char **argv) {
    const char *variant = argc > 1 ? argv[1] : "bad";
    if (strcmp(variant, "wide") == 0)
        wide();
    else
        narrow(strcmp(variant, "good") == 0);
    puts("done");
    return 0;
}
