/* Clean: 4 threads allocate, hand blocks to each other (cross-thread frees), and exit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define ROUNDS 20000

static char *shared[THREADS][64];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg) {
    long id = (long)arg;
    unsigned long sum = 0;
    for (int i = 0; i < ROUNDS; i++) {
        size_t size = 16 + (size_t)(i * 7 + id) % 300;
        char *block = malloc(size);
        memset(block, (int)id, size);
        sum += (unsigned char)block[size - 1];
        pthread_mutex_lock(&lock);
        int slot = i % 64;
        long other = (id + 1) % THREADS;
        free(shared[other][slot]); /* a block another thread allocated */
        shared[other][slot] = block;
        pthread_mutex_unlock(&lock);
    }
    return (void *)sum;
}

int main(void) {
    pthread_t threads[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, worker, (void *)i);
    unsigned long total = 0;
    for (int i = 0; i < THREADS; i++) {
        void *result;
        pthread_join(threads[i], &result);
        total += (unsigned long)result;
    }
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < 64; j++) free(shared[i][j]);
    printf("threads total %lu\n", total);
    return 0;
}
