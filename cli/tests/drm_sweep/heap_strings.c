/* After Dr. Memory's tests/app_suite/strmem_tests.cpp (DynamoRIO/drmemory): string and memory
 * functions on heap strings shorter than their blocks' rounding: overlapping memmove, strstr
 * on a 3-byte block, wcschr and wcsrchr on wide strings of every length up to 15, strncpy
 * padding, stpcpy, strcasecmp, strspn; then a strcpy one byte too long for its block and a
 * strlen of a string that runs past its block. Written for gpa; no upstream code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

int main(void) {
    const char *input = "0123456789abcdefg";
    char *tmp = malloc(strlen(input) + 5);
    strcpy(tmp, input);
    memmove(tmp + 7, tmp + 3, strlen(tmp) + 1 - 3);
    printf("memmove up: %s\n", tmp);
    strcpy(tmp, input);
    memmove(tmp + 3, tmp + 7, strlen(tmp) + 1 - 7);
    printf("memmove down: %s\n", tmp);
    free(tmp);
    char *p = malloc(3);
    strcpy(p, "xy");
    printf("strstr: %s\n", strstr(p, "y"));
    free(p);
    int found = 0;
    for (int len = 1; len < 16; len++) {
        wchar_t *w = malloc(len * sizeof(wchar_t));
        for (int i = 0; i < len - 1; i++)
            w[i] = L'a' + i;
        w[len - 1] = 0;
        found += wcschr(w, L'a' + len - 2) != NULL;
        found += wcsrchr(w, L'a') != NULL;
        found += (int)wcslen(w);
        free(w);
    }
    printf("wide: %d\n", found);
    char *buf = malloc(16);
    strncpy(buf, "ab", 16);
    int zeros = 0;
    for (int i = 2; i < 16; i++)
        zeros += buf[i] == 0;
    printf("strncpy zeros: %d\n", zeros);
    printf("stpcpy end: %td\n", stpcpy(buf, "hello") - buf);
    printf("strcasecmp: %d %d\n", strcasecmp(buf, "HELLO"), strcasecmp(buf, "hellp") < 0);
    printf("strspn: %zu\n", strspn("a;b;c", "a;"));
    free(buf);
    char *small = malloc(5);
    strcpy(small, "hello"); /* line 48: writes 6 bytes into a 5-byte block */
    printf("strlen: %zu\n", strlen(small)); /* line 49: reads the 6th byte */
    free(small);
    return 0;
}
