/* Small stacks: a thread on a stack the program supplies (`pthread_attr_setstack`) of
 * argv[1] bytes (default 96 KiB). glibc takes every start-up module's static TLS from the top
 * of it; under gpa that includes the preload library's 60 KiB, so the thread is left about
 * 30 KiB for its frames, and gpa's checks must fit beside them. (Below about 80 KiB glibc
 * refuses such a stack under gpa with EINVAL: a limit of capi/threads.rs, not tested here.)
 * The thread allocates and frees, writes one byte past a 20-byte block (a heap overflow) and
 * drops a 40-byte block (a leak). Valgrind: 1 error (invalid write of size 1, 0 bytes after a
 * block of size 20), definitely lost 40 bytes in 1 block. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

static void *work(void *unused) {
    (void)unused;
    for (int i = 0; i < 100; i++) {
        char *block = malloc(16 + (size_t)i * 8);
        memset(block, i, 16);
        free(block);
    }
    char *small = malloc(20);
    memset(small, 'a', 20);
    small[20] = 'x'; /* one byte past the end (in glibc's slack) */
    free(small);
    char *dropped = malloc(40);
    memset(dropped, 'b', 40);
    sink = dropped;
    sink = NULL;
    return NULL;
}

int main(int argc, char **argv) {
    size_t size = argc > 1 ? strtoul(argv[1], NULL, 0) : 96 * 1024;
    void *stack = aligned_alloc(4096, size);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    int status = pthread_attr_setstack(&attr, stack, size);
    pthread_t thread;
    if (status == 0) status = pthread_create(&thread, &attr, work, NULL);
    if (status == 0) pthread_join(thread, NULL);
    pthread_attr_destroy(&attr);
    free(stack);
    printf("thread on its own %zu-byte stack: %s\n", size, status == 0 ? "ran" : strerror(status));
    return status != 0;
}
