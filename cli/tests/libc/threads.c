/* Four threads each read 4 bytes past a 16-byte block of their own with memcpy, at one call
 * site (cli/tests/libc_calls.rs). Valgrind 3.19: "Invalid read of size 2 at memmove, by
 * reader (threads.c:LINE)... 0 bytes after a block of size 16 alloc'd", 8 errors from 1 context. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t twenty = 20;

static void *reader(void *arg) {
    char out[32];
    char *block = malloc(16); /* @alloc */
    memset(block, 'r', 16);
    memcpy(out, block, twenty); /* @read */
    free(block);
    return (void *)(size_t)(out[0] + (char)(size_t)arg);
}

int main(void) {
    pthread_t threads[4];
    for (size_t i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, reader, (void *)i);
    for (size_t i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    puts("done");
    return 0;
}
