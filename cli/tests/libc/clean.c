/* Heavy legitimate use of libc's memory and string functions, in four threads at once: heap
 * strings that exactly fill their blocks, copies of 0 bytes, memmove of overlapping ranges,
 * comparisons that stop at a difference or a terminator inside the blocks, stack and static
 * buffers, `realloc`ed strings, blocks of 0 bytes. Valgrind 3.19: "ERROR SUMMARY: 0 errors
 * from 0 contexts", "All heap blocks were freed". Built at -O0 and at -O2 with
 * -D_FORTIFY_SOURCE=2 (cli/tests/libc_calls.rs). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t zero = 0;
static char global[128];

static unsigned long work(unsigned seed) {
    unsigned long sum = 0;
    char stack[128];
    for (unsigned round = 0; round < 300; round++) {
        size_t len = 1 + (seed * 31 + round * 7) % 100;
        char *s = malloc(len + 1);
        memset(s, 'a' + round % 26, len);
        s[len] = 0;
        char *d = malloc(len + 1);
        strcpy(d, s);
        sum += strlen(d) + strnlen(d, len + 100) + strnlen(d, len / 2);
        memcpy(d, s, zero);
        memcpy(d, s, len + 1);
        memmove(d + 1, d, len - 1);
        memmove(d, d + 1, len - 1);
        sum += memcmp(d, s, len + 1) != 0;
        sum += strcmp(d, s) != 0;
        sum += strncmp(d, s, len + 50) != 0;
        sum += strchr(s, 'z' + 1) == NULL;
        sum += memchr(s, 0, len + 1) != NULL;
        strncpy(d, s, len + 1);
        char *end = stpcpy(d, s);
        sum += (size_t)(end - d);
        s = realloc(s, 2 * len + 1);
        strcat(s, d);
        sum += strlen(s);
        s = realloc(s, 2 * len + 3);
        strncat(s, "xyz", 2);
        sum += strlen(s);
        memcpy(stack, d, len < 127 ? len + 1 : 127);
        memcpy(global + seed % 16, stack, 64);
        strcpy(stack, global + 100);
        char *empty = malloc(0);
        memcpy(empty, s, zero);
        memset(empty, 0, zero);
        free(empty);
        free(d);
        free(s);
    }
    return sum;
}

static void *thread_main(void *arg) {
    return (void *)work((unsigned)(size_t)arg);
}

int main(void) {
    pthread_t threads[3];
    for (size_t i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, thread_main, (void *)(i + 1));
    unsigned long sum = work(0);
    for (size_t i = 0; i < 3; i++) {
        void *result;
        pthread_join(threads[i], &result);
        sum += (unsigned long)result;
    }
    printf("%lu\n", sum);
    return 0;
}
