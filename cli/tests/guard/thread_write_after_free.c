/* Guard mode: a write after free in a second thread (its fault is handled on the alternate
 * stack gpa gave the thread). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char *shared;

__attribute__((noinline)) static void *scribble(void *unused) {
    (void)unused;
    memset(shared, 'x', 64);
    return NULL;
}

int main(void) {
    shared = malloc(64);
    free(shared);
    pthread_t thread;
    pthread_create(&thread, NULL, scribble, NULL);
    pthread_join(thread, NULL);
    return 0;
}
