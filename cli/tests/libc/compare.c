/* Comparisons that run past a heap block's end only after more than 16 equal bytes, or that stop
 * inside the block after a 16-byte boundary (cli/tests/libc_compare.rs): `compare CASE`. The checks
 * find where a comparison stops 16 bytes at a time; these cases put the stop (or the block's end)
 * beyond the first chunks, at offsets that are not multiples of 16. The call of each case is the
 * line marked `@CASE`; sizes come from a volatile so that no call is inlined or folded. The `clean`
 * case makes the comparisons that stop in bounds and must report nothing; the `short` case prints
 * the values of `strcmp` on heap strings under 16 bytes, which must be glibc's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

static volatile size_t zero = 0;

static size_t n(size_t value) { return value + zero; }

/* A block of `size` bytes of `fill`, without a terminator. */
static char *filled(size_t size, char fill) {
    char *p = malloc(n(size));
    memset(p, fill, size);
    return p;
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "";
    char stack[64];
    memset(stack, 'a', sizeof stack);
    stack[63] = 0;
    if (!strcmp(name, "strcmp_past_chunk")) {
        char *p = filled(40, 'a');
        stack[45] = 'b';
        printf("%d\n", strcmp(p, stack) < 0); /* @strcmp_past_chunk: equal for 40 bytes, the block's */
        free(p);
    } else if (!strcmp(name, "strcmp_second")) {
        char *q = filled(37, 'a');
        stack[50] = 'b';
        printf("%d\n", strcmp(stack, q) < 0); /* @strcmp_second: the block is the second string */
        free(q);
    } else if (!strcmp(name, "strncmp_to_end")) {
        char *p = filled(37, 'a');
        printf("%d\n", strncmp(p, stack, n(50))); /* @strncmp_to_end: equal up to the block's end */
        free(p);
    } else if (!strcmp(name, "strcasecmp_past_chunk")) {
        char *p = filled(33, 'A');
        printf("%d\n", strcasecmp(p, stack) < 0); /* @strcasecmp_past_chunk: 'A' and 'a' are equal */
        free(p);
    } else if (!strcmp(name, "wcscmp_past_chunk")) {
        wchar_t *w = malloc(n(9 * sizeof(wchar_t)));
        wchar_t other[16];
        for (int i = 0; i < 9; i++) w[i] = L'a';
        for (int i = 0; i < 15; i++) other[i] = L'a';
        other[15] = 0;
        printf("%d\n", wcscmp(w, other) < 0); /* @wcscmp_past_chunk: 9 wide units, then past */
        free(w);
    } else if (!strcmp(name, "short")) {
        /* strcmp of heap strings shorter than a chunk, whose result check mode computes itself
         * (the check compares them to the stop anyway): each value as glibc's strcmp returns
         * it, bytes above 127 included, either argument or both on the heap. */
        static const char *const words[] = {"", "a", "ab", "abc", "abd", "hello", "help",
                                            "\x7f", "\x80", "\xff\x01", "zzzzzzzzzzzzzz"};
        const size_t count = sizeof words / sizeof *words;
        char *copies[sizeof words / sizeof *words];
        for (size_t i = 0; i < count; i++) copies[i] = strdup(words[i]);
        for (size_t i = 0; i < count; i++) {
            for (size_t j = 0; j < count; j++) {
                char local[16];
                strcpy(local, words[j]);
                printf("%d %d %d ", strcmp(copies[i], local), strcmp(local, copies[i]),
                       strcmp(copies[i], copies[j]));
            }
            printf("\n");
        }
        for (size_t i = 0; i < count; i++) free(copies[i]);
    } else if (!strcmp(name, "clean")) {
        /* Differences and terminators inside the blocks, past the first chunks. */
        char *p = filled(40, 'a');
        long sum = 0;
        stack[35] = 'b';
        sum += strcmp(p, stack) < 0;
        sum += strcmp(stack, p) > 0;
        sum += strncmp(p, stack, n(60)) < 0;
        sum += memcmp(p, stack, n(40)) < 0; /* (memcmp may read all n bytes: n within the block) */
        stack[35] = 'a';
        p[38] = 0;
        sum += strcmp(p, stack) < 0;
        sum += strcasecmp(p, stack) < 0;
        sum += strncmp(p, stack, n(40)) < 0;
        p[38] = 'a';
        sum += strncmp(p, stack, n(40)) == 0; /* stops at the block's end: reads none past it */
        sum += memcmp(p, stack, n(40)) == 0;
        char *q = filled(40, 'a');
        q[39] = 0;
        p[39] = 0;
        sum += strcmp(p, q) == 0; /* both blocks, equal through their terminators */
        printf("%ld\n", sum);
        free(q);
        free(p);
    }
    return 0;
}
