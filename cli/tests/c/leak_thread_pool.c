/* Leak roots: four worker threads wait on a condition variable at exit, each holding a
 * 100-byte block in its stack (still reachable); main drops a 7-byte block (definitely lost).
 * The workers are stopped while waiting in the C library, which does not keep glibc's
 * exit-time frees from running: stdout's buffer is freed as under Valgrind (Valgrind:
 * 7 bytes definitely lost, 400 bytes in 4 blocks still reachable, the four running threads'
 * thread vectors, 1,088 bytes, possibly lost). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static volatile int ready;

static void *worker(void *unused) {
    (void)unused;
    char *mine = malloc(100);
    mine[0] = 1;
    pthread_mutex_lock(&lock);
    __sync_fetch_and_add(&ready, 1);
    for (;;) pthread_cond_wait(&never, &lock);
    return mine;
}

int main(void) {
    pthread_t thread;
    for (int i = 0; i < 4; i++) pthread_create(&thread, NULL, worker, NULL);
    while (ready < 4) usleep(1000);
    usleep(20000);
    printf("done\n");
    char *dropped = malloc(7);
    dropped[0] = 1;
    return 0;
}
