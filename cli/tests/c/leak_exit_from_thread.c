/* Leak roots: `exit` called by a thread other than the main one. The main thread, waiting in
 * pthread_join, is stopped: its stack holds a 666-byte block (still reachable); the exiting
 * thread dropped 555 bytes (definitely lost); its own thread vector is reached through its
 * descriptor's interior pointer (possibly lost). Valgrind agrees. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *worker(void *unused) {
    (void)unused;
    char *dropped = malloc(555);
    dropped[0] = 1;
    dropped = NULL;
    puts("done");
    exit(0);
}

int main(void) {
    char *held = malloc(666);
    held[0] = 1;
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    pthread_join(thread, NULL);
    __asm__ volatile("" : : "r"(held) : "memory");
    return 0;
}
