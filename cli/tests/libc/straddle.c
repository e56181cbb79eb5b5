/* Calls whose range starts inside a heap block and runs past its end (libc_calls.rs,
 * `straddle CASE`): the finding names the first unit the call touches that is not wholly in
 * the block. `p` is a 10-byte block (its first byte at offset 0 of the call), `w` a 10-byte
 * block of `wchar_t`s (two and a half). Sizes come from a volatile so that no call is folded;
 * the call of each case is the line marked `@CASE`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static volatile size_t eight = 8;
static size_t n(size_t value) { return value + eight - 8; }

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "";
    char src[32];
    memset(src, 'a', sizeof src);
    src[31] = 0;
    wchar_t wsrc[8] = L"abcdefg";
    char *p = malloc(n(10));
    wchar_t *w = malloc(n(10));
    long r = 0;
    if (!strcmp(name, "memcpy")) {
        r = memcpy(p, src, n(16)) != NULL; /* @memcpy */
    } else if (!strcmp(name, "memset")) {
        r = memset(p, 0, n(16)) != NULL; /* @memset */
    } else if (!strcmp(name, "memmove")) {
        r = memmove(p, src, n(16)) != NULL; /* @memmove */
    } else if (!strcmp(name, "memccpy")) {
        r = memccpy(p, src, 0, n(16)) != NULL; /* @memccpy */
    } else if (!strcmp(name, "strcpy")) {
        src[15] = 0;
        r = strcpy(p, src) != NULL; /* @strcpy */
    } else if (!strcmp(name, "strncpy")) {
        r = strncpy(p, src, n(16)) != NULL; /* @strncpy */
    } else if (!strcmp(name, "memcmp")) {
        memset(p, 'a', 10);
        r = memcmp(p, src, n(16)); /* @memcmp */
    } else if (!strcmp(name, "strlen")) {
        memset(p, 'a', 10);
        r = strlen(p); /* @strlen */
    } else if (!strcmp(name, "memchr")) {
        memset(p, 'a', 10);
        r = memchr(p, 'b', n(16)) != NULL; /* @memchr */
    } else if (!strcmp(name, "wcscpy")) {
        r = wcscpy(w, L"abcd") != NULL; /* @wcscpy */
    } else if (!strcmp(name, "wcsncpy")) {
        r = wcsncpy(w, wsrc, n(4)) != NULL; /* @wcsncpy */
    } else if (!strcmp(name, "wmemcpy")) {
        r = wmemcpy(w, wsrc, n(4)) != NULL; /* @wmemcpy */
    } else if (!strcmp(name, "wmemset")) {
        r = wmemset(w, L'x', n(4)) != NULL; /* @wmemset */
    } else if (!strcmp(name, "wcslen")) {
        memset(w, 1, 10);
        r = wcslen(w); /* @wcslen */
    } else if (!strcmp(name, "wmemchr")) {
        memset(w, 1, 10);
        r = wmemchr(w, L'z', n(4)) != NULL; /* @wmemchr */
    }
    free(p);
    free(w);
    printf("done %d\n", r != 0);
    return 0;
}
