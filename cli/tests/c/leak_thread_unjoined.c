/* Leak roots: a thread that finished but was never joined still owns its descriptor, whose
 * return value keeps 4,242 bytes reachable; a detached thread's stack is given back to glibc,
 * so the 5,353 bytes it returned are definitely lost (Valgrind agrees on both). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile int finished;

static void *joinable(void *unused) {
    (void)unused;
    char *result = malloc(4242);
    result[0] = 1;
    __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
    return result;
}

static void *detached(void *unused) {
    (void)unused;
    char *result = malloc(5353);
    result[0] = 1;
    __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
    return result;
}

int main(void) {
    pthread_t first, second;
    pthread_create(&first, NULL, joinable, NULL);
    pthread_create(&second, NULL, detached, NULL);
    pthread_detach(second);
    while (finished < 2) usleep(1000);
    usleep(100000); /* let both threads end */
    puts("done");
    return 0;
}
