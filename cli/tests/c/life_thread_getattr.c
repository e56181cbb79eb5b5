/* Threads whose first allocation is made by glibc inside pthread_getattr_np (its realloc of
 * the CPU set, made while it holds the thread's own descriptor lock), as a JVM's threads do
 * first thing (os::current_stack_base). Each thread then allocates, frees, and drops a
 * 40-byte block. gpa asked for the thread's stack from inside that first allocation, with
 * pthread_getattr_np again: it waited for the lock forever (check and guard modes).
 * Valgrind 3.19: 80 bytes in 2 blocks definitely lost, nothing else. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *body(void *arg) {
    (void)arg;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return (void *)1;
    void *base = NULL;
    size_t size = 0;
    pthread_attr_getstack(&attr, &base, &size);
    pthread_attr_destroy(&attr);
    char *kept = malloc(24);
    strcpy(kept, "checked");
    free(kept);
    char *dropped = malloc(40);
    memset(dropped, 1, 40);
    dropped = NULL;
    return size > 0 && base != NULL ? NULL : (void *)2;
}

int main(void) {
    for (int i = 0; i < 2; i++) {
        pthread_t thread;
        void *result = (void *)3;
        if (pthread_create(&thread, NULL, body, NULL) != 0) return 4;
        pthread_join(thread, &result);
        if (result != NULL) return 5;
    }
    printf("stack found\n");
    return 0;
}
