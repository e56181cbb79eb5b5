/* One planted bug per case, each through a libc memory or string function (cli/tests/libc_calls.rs):
 * `planted CASE`. Sizes come from a volatile so that no call is inlined at -O2; the call of each case is the
 * line marked `@CASE` (the test looks it up). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t eight = 8;
char digits[] = "0123456789abcdefXYZ";
char four[] = "four";
char ten[] = "0123456789";

static size_t n(size_t value) { return value + eight - 8; }

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "";
    char stack[64] = "a stack string";
    char *p = malloc(16);
    memset(p, 'a', 16);
    if (!strcmp(name, "memcpy_read")) {
        memcpy(stack, p, n(24)); /* @memcpy_read: reads 8 bytes past a 16-byte block */
    } else if (!strcmp(name, "memcpy_write")) {
        memcpy(p, stack, n(20)); /* @memcpy_write: writes 4 bytes past */
    } else if (!strcmp(name, "memmove_read_freed")) {
        free(p);
        memmove(stack, p, n(8)); /* @memmove_read_freed: reads a freed block */
        return 0;
    } else if (!strcmp(name, "memset_write")) {
        memset(p, 0, n(18)); /* @memset_write */
    } else if (!strcmp(name, "memset_freed")) {
        free(p);
        memset(p + 4, 0, n(4)); /* @memset_freed: writes a freed block */
        return 0;
    } else if (!strcmp(name, "memcpy_underflow")) {
        memcpy(stack, p - 4, n(8)); /* @memcpy_underflow: reads 4 bytes before */
    } else if (!strcmp(name, "strlen")) {
        printf("%zu\n", strlen(p)); /* @strlen: no terminator in the block */
    } else if (!strcmp(name, "strcpy")) {
        strcpy(p, digits); /* @strcpy: 20 bytes into 16 */
    } else if (!strcmp(name, "strcat")) {
        p[10] = 0;
        strcat(p, ten); /* @strcat: 21 bytes into 16 */
    } else if (!strcmp(name, "strncpy")) {
        strncpy(p, "abc", n(20)); /* @strncpy: pads 20 bytes */
    } else if (!strcmp(name, "memcmp")) {
        memset(stack, 'a', 32);
        printf("%d\n", memcmp(p, stack, n(20)) == 0); /* @memcmp */
    } else if (!strcmp(name, "strcmp")) {
        memset(stack, 'a', 32);
        stack[32] = 0;
        printf("%d\n", strcmp(p, stack) < 0); /* @strcmp */
    } else if (!strcmp(name, "overlap_memcpy")) {
        char *q = malloc(32);
        memset(q, 'b', 32);
        memcpy(q + 4, q, n(16)); /* @overlap_memcpy */
        free(q);
    } else if (!strcmp(name, "overlap_strcpy")) {
        char *q = malloc(32);
        memcpy(q, digits, 20);
        strcpy(q, q + 2); /* @overlap_strcpy */
        free(q);
    } else if (!strcmp(name, "overlap_strncpy")) {
        char *q = malloc(32);
        memcpy(q, digits, 20);
        strncpy(q, q + 2, n(16)); /* @overlap_strncpy */
        free(q);
    } else if (!strcmp(name, "strchr")) {
        printf("%d\n", strchr(p, 'z') == NULL); /* @strchr */
    } else if (!strcmp(name, "stpcpy")) {
        char *q = malloc(4);
        stpcpy(q, four); /* @stpcpy: 5 bytes into 4 */
        free(q);
    } else if (!strcmp(name, "strnlen")) {
        printf("%zu\n", strnlen(p, n(32))); /* @strnlen */
    } else if (!strcmp(name, "memchr")) {
        printf("%d\n", memchr(p, 'z', n(17)) == NULL); /* @memchr */
    } else if (!strcmp(name, "strncmp")) {
        memset(stack, 'a', 32);
        printf("%d\n", strncmp(p, stack, n(20))); /* @strncmp */
    } else if (!strcmp(name, "strncat")) {
        p[12] = 0;
        strncat(p, ten, n(6)); /* @strncat: 12 + 6 + 1 bytes into 16 */
    }
    free(p);
    return 0;
}
