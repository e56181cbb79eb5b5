/* Nine threads (the main one and eight more) each malloc their share of 512 blocks (a third
 * of argv[1] bytes, default 1 MiB, a third of a 64th of that plus 8, a third of 40 bytes),
 * touch each, hold them until every thread has allocated (so that the peak, all stacks and
 * all blocks at once, is the same whatever the scheduling), then free them. Prints how many
 * mallocs failed and how many threads could not start. Run under an address-space limit
 * (`ulimit -v`, RLIMIT_AS): gpa must fail no malloc that succeeds natively (up to its
 * documented overhead). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 9
#define BLOCKS 512

static size_t block_size = 1 << 20;
static int failed[THREADS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int allocated;
static int released;

static void *work(void *arg) {
    int index = (int)(long)arg;
    int share = BLOCKS / THREADS + (index < BLOCKS % THREADS);
    void **blocks = calloc((size_t)share, sizeof *blocks);
    if (blocks == NULL) {
        failed[index] = share;
    } else {
        for (int i = 0; i < share; i++) {
            size_t size = i % 3 == 0 ? block_size : i % 3 == 1 ? block_size / 64 + 8 : 40;
            blocks[i] = malloc(size);
            if (blocks[i] == NULL)
                failed[index]++;
            else
                memset(blocks[i], 0x5a, size < 4096 ? size : 4096);
        }
    }
    pthread_mutex_lock(&lock);
    allocated++;
    pthread_cond_broadcast(&changed);
    while (!released)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    if (blocks != NULL) {
        for (int i = 0; i < share; i++)
            free(blocks[i]);
        free(blocks);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1)
        block_size = strtoul(argv[1], NULL, 0);
    pthread_t threads[THREADS];
    int started[THREADS] = {0};
    int running = 1;
    for (int i = 1; i < THREADS; i++) {
        started[i] = pthread_create(&threads[i], NULL, work, (void *)(long)i) == 0;
        running += started[i];
    }
    /* The main thread allocates its share too, then lets every thread free. */
    pthread_mutex_lock(&lock);
    released = 0;
    pthread_mutex_unlock(&lock);
    {
        /* As `work`, without waiting: release once everyone has allocated. */
        int share = BLOCKS / THREADS + 1;
        void **blocks = calloc((size_t)share, sizeof *blocks);
        if (blocks == NULL)
            failed[0] = share;
        for (int i = 0; blocks != NULL && i < share; i++) {
            size_t size = i % 3 == 0 ? block_size : i % 3 == 1 ? block_size / 64 + 8 : 40;
            blocks[i] = malloc(size);
            if (blocks[i] == NULL)
                failed[0]++;
            else
                memset(blocks[i], 0x5a, size < 4096 ? size : 4096);
        }
        pthread_mutex_lock(&lock);
        allocated++;
        while (allocated < running)
            pthread_cond_wait(&changed, &lock);
        released = 1;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
        for (int i = 0; blocks != NULL && i < share; i++)
            free(blocks[i]);
        free(blocks);
    }
    int total = 0, not_started = 0;
    for (int i = 1; i < THREADS; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        else
            not_started++;
    }
    for (int i = 0; i < THREADS; i++)
        total += failed[i];
    printf("failed %d of %d mallocs; %d threads not started\n", total, BLOCKS, not_started);
    return 0;
}
