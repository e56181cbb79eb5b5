/* A signal ends a process whose other thread holds the only pointer to a block in its
 * stack: the block is reachable (Valgrind scans every thread's stack and registers). The
 * main thread's own block is lost. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int ready;

static void *hold(void *unused) {
    (void)unused;
    void *volatile held = malloc(48);
    memset(held, 1, 48);
    ready = 1;
    for (;;)
        pause();
    return held;
}

int main(void) {
    char *lost = malloc(33);
    strcpy(lost, "lost");
    lost = NULL;
    pthread_t thread;
    pthread_create(&thread, NULL, hold, NULL);
    while (!ready)
        usleep(1000);
    raise(SIGTERM);
    return 0;
}
