/* Planted bugs through the fortified forms of cli/tests/libc_calls.rs's newer functions, built
 * with -O2 -D_FORTIFY_SOURCE=2: the object sizes are known and the lengths are not, so the
 * calls become `__wcscpy_chk`, `__stpncpy_chk`, `__read_chk`, `__fread_chk`... (their results
 * are used so that none is optimized away). `more_fortify CASE`; the call of each case is the
 * line marked `@CASE`. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

static volatile size_t eight = 8;

static size_t n(size_t value) { return value + eight - 8; }

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "";
    char out[64];
    wchar_t wout[16];
    int zero = open("/dev/zero", O_RDONLY);
    FILE *in = fopen("/dev/zero", "r");
    char *p = malloc(16);
    memset(p, 'a', n(16));
    wchar_t *w = malloc(16);
    wmemset(w, L'a', n(4));
    long r = 0;
    if (!strcmp(name, "wcscpy")) {
        r = wcscpy(wout, w)[0]; /* @wcscpy: an unterminated wide string */
    } else if (!strcmp(name, "stpncpy")) {
        r = *stpncpy(out, p, n(20)); /* @stpncpy: reads past the block */
    } else if (!strcmp(name, "read")) {
        free(p);
        r = read(zero, p, n(8)); /* @read: into a freed block */
        free(w);
        return r == 8 ? 0 : 1;
    } else if (!strcmp(name, "fread")) {
        free(p);
        r = fread(p, 1, n(8), in); /* @fread: into a freed block */
        free(w);
        return r == 8 ? 0 : 1;
    }
    printf("%ld\n", r);
    fclose(in);
    free(w);
    free(p);
    return 0;
}
