/* Leak roots: a finished, joined thread's stack and descriptor are not roots, even though
 * glibc keeps them cached. Its return value was dropped by main: 4,242 bytes definitely
 * lost (Valgrind agrees). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *worker(void *unused) {
    (void)unused;
    char *result = malloc(4242);
    result[0] = 1;
    return result;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    pthread_join(thread, NULL); /* the result is dropped */
    puts("done");
    return 0;
}
