/* Clean: threads created with the stack sizes programs ask for (node 20 starts one with
 * PTHREAD_STACK_MIN). glibc carves every start-up module's static TLS out of a new thread's
 * stack, so a preload library with thread-local storage must not shrink what is left: each
 * thread is created, and the 64 KiB one uses 40 KiB of its stack, as without gpa. A thread on
 * a stack of the program's own (pthread_attr_setstack) runs too. Valgrind: no errors, all
 * heap blocks freed. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *small_work(void *arg) {
    char *block = malloc(64);
    memset(block, 1, 64);
    free(block);
    return arg;
}

static void *deep_work(void *arg) {
    volatile char frame[40 * 1024];
    for (size_t i = 0; i < sizeof frame; i += 512) frame[i] = (char)i;
    return (void *)(long)frame[512];
}

static int start(size_t size, void *(*work)(void *), void *stack) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    int status = stack ? pthread_attr_setstack(&attr, stack, size)
                       : pthread_attr_setstacksize(&attr, size);
    pthread_t thread;
    if (status == 0) status = pthread_create(&thread, &attr, work, NULL);
    if (status == 0) pthread_join(thread, NULL);
    pthread_attr_destroy(&attr);
    printf("stack of %zu bytes%s: %s\n", size, stack ? " (own)" : "",
           status == 0 ? "ran" : strerror(status));
    return status;
}

int main(void) {
    int failed = 0;
    failed |= start(PTHREAD_STACK_MIN, small_work, NULL);
    failed |= start(32 * 1024, small_work, NULL);
    failed |= start(64 * 1024, deep_work, NULL);
    size_t own_size = 256 * 1024;
    void *own = aligned_alloc(4096, own_size);
    failed |= start(own_size, small_work, own);
    free(own);
    pthread_t plain;
    failed |= pthread_create(&plain, NULL, small_work, NULL);
    pthread_join(plain, NULL);
    return failed != 0;
}
