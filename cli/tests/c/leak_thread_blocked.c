/* Leak roots: a thread that blocks every signal (as `sigwait` threads and node's inspector
 * thread do) and waits. gpa stops threads for the leak scan with a signal; a mask built with
 * `sigfillset` is applied without it, so this thread is stopped and examined like any other:
 * its stack holds the 4096-byte block (still reachable), its thread vector is reached through
 * its descriptor's interior pointer (possibly lost). Valgrind agrees. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile int ready;

static void *worker(void *unused) {
    (void)unused;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    char *held = malloc(4096);
    held[0] = 1;
    ready = 1;
    for (;;) pause();
    return NULL;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    while (!ready) usleep(1000);
    puts("done");
    return 0;
}
