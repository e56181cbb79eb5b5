/* main returns while detached threads are still in glibc's thread-exit code. Each thread's
 * key destructor posts a semaphore; main waits for all of them and returns at once, so the
 * exit scan often stops a thread after its destructors, inside glibc (freeing its TLS,
 * caching its stack). Before that, threads were created and joined: glibc caches their
 * stacks, each holding its DTV, and `__libc_freeres` frees them before the leak check.
 *
 * Valgrind 3.19 (`--leak-check=full`): no error, "All heap blocks were freed" or only blocks
 * of the threads still ending ("possibly lost", their DTVs) in some runs; never a cached
 * stack's DTV as lost. Argument: the number of detached threads (default 8). */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_key_t key;
static sem_t ended;

static void destructor(void *value) {
    (void)value;
    sem_post(&ended);
}

static void *joined(void *argument) { return argument; }

static void *detached(void *argument) {
    pthread_setspecific(key, (void *)1);
    return argument;
}

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 8;
    pthread_key_create(&key, destructor);
    sem_init(&ended, 0, 0);
    pthread_t thread;
    for (int i = 0; i < 4; i++) {
        pthread_create(&thread, NULL, joined, NULL);
        pthread_join(thread, NULL);
    }
    for (int i = 0; i < count; i++) {
        pthread_create(&thread, NULL, detached, NULL);
        pthread_detach(thread);
    }
    for (int i = 0; i < count; i++) sem_wait(&ended);
    puts("done");
    return 0;
}
