/* Leak roots: the main thread ends with pthread_exit while a worker runs on; the process exits
 * when the worker returns, and the leak check runs on the worker. By then the process id names
 * a zombie thread: its memory cannot be read through it (every block was "definitely lost") nor
 * its executable named, and it answers no signal. Each thread dropped a block (definitely
 * lost); the worker's thread vector is reached through its descriptor's interior pointer
 * (possibly lost). Valgrind agrees. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *worker(void *unused) {
    usleep(100 * 1000);
    char *dropped = malloc(33);
    strcpy(dropped, "worker's");
    dropped = NULL;
    puts("done");
    return unused;
}

int main(void) {
    char *dropped = malloc(44);
    strcpy(dropped, "main's");
    dropped = NULL;
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    pthread_exit(NULL);
}
