/* After Dr. Memory's tests/pthreads.c and tests/realloc.c (DynamoRIO/drmemory): threads that
 * grow one block by realloc from 1 to 32767 bytes, filling it each time, and free it; then
 * threads still computing (and allocating) when main returns, each holding a block of its own
 * from a thread-local pointer. Written for gpa; no upstream code. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 8

static void *grow(void *arg) {
    void *ptr = NULL;
    (void)arg;
    for (int i = 8; i < 128; i++) {
        int size = (1 << (i / 8)) - 1;
        ptr = realloc(ptr, size);
        if (!ptr)
            abort();
        memset(ptr, 42, size);
    }
    free(ptr);
    return NULL;
}

static volatile int started;

static void *spin(void *arg) {
    void *mine = malloc(100); /* line 30: on the running thread's stack at exit */
    (void)arg;
    __sync_fetch_and_add(&started, 1);
    for (;;) {
        free(malloc(64));
        if (mine == (void *)1)
            break;
    }
    return NULL;
}

int main(void) {
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, grow, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("success\n");
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, spin, NULL);
    while (started < 4)
        usleep(1000);
    printf("exiting with threads running\n");
    return 0;
}
