/* Planted bugs in a program built with -O2 -D_FORTIFY_SOURCE=2 (cli/tests/libc_calls.rs):
 * the copies become calls of `__memcpy_chk`, `__memset_chk`, `__strcpy_chk` (the object sizes
 * are known, the lengths are not), and their results are used so that none is optimized
 * away. `fortify CASE`; the call of each case is the line marked `@CASE`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t eight = 8;

static size_t n(size_t value) { return value + eight - 8; }

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "";
    char out[64];
    char *p = malloc(16);
    memset(p, 'a', n(16));
    if (!strcmp(name, "read")) {
        memcpy(out, p, n(24)); /* @read */
        fwrite(out, 1, 24, stdout);
    } else if (!strcmp(name, "overlap")) {
        char *q = malloc(32);
        memset(q, 'b', n(32));
        memcpy(q + 4, q, n(16)); /* @overlap */
        fwrite(q, 1, 32, stdout);
        free(q);
    } else if (!strcmp(name, "freed")) {
        free(p);
        memset(p + 4, 0, n(4)); /* @freed */
        return 0;
    } else if (!strcmp(name, "strcpy")) {
        strcpy(out, p); /* @strcpy */
        fwrite(out, 1, 16, stdout);
    }
    free(p);
    return 0;
}
