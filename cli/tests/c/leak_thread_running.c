/* Leak roots: a thread still running at exit. Its heap is examined and its stack and
 * registers are roots: the block it dropped is definitely lost, the block it still holds
 * is still reachable (Valgrind: 3,333 bytes definitely lost, 1,111 bytes still reachable, and
 * the running thread's own thread vector, which glibc allocated, possibly lost). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile int ready;

static void *worker(void *unused) {
    (void)unused;
    char *dropped = malloc(3333);
    dropped[0] = 1;
    dropped = NULL;
    char *held = malloc(1111); /* only in this thread's registers or stack */
    held[0] = 2;
    ready = 1;
    for (;;) {
        __asm__ volatile("" : : "r"(held) : "memory");
        pause();
    }
    return held;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    while (!ready) usleep(1000);
    puts("done");
    return 0; /* the worker is still running */
}
