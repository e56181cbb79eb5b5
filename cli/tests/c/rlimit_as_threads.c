/* Nine threads (the main one and eight more) each malloc their share of 512 blocks of
 * argv[1] bytes (default 1 MiB), touch each, then free them; prints how many mallocs failed.
 * Run under an address-space limit (`ulimit -v`, RLIMIT_AS): gpa must fail no malloc that
 * succeeds natively (up to its documented overhead). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 9
#define BLOCKS 512

static size_t block_size = 1 << 20;
static int failed[THREADS];

static void *work(void *arg) {
    int index = (int)(long)arg;
    int share = BLOCKS / THREADS + (index < BLOCKS % THREADS);
    void **blocks = calloc((size_t)share, sizeof *blocks);
    if (blocks == NULL) {
        failed[index] = share;
        return NULL;
    }
    for (int i = 0; i < share; i++) {
        /* Sizes vary around the given one: small, medium and the full size. */
        size_t size = i % 3 == 0 ? block_size : i % 3 == 1 ? block_size / 64 + 8 : 40;
        blocks[i] = malloc(size);
        if (blocks[i] == NULL)
            failed[index]++;
        else
            memset(blocks[i], 0x5a, size < 4096 ? size : 4096);
    }
    for (int i = 0; i < share; i++)
        free(blocks[i]);
    free(blocks);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1)
        block_size = strtoul(argv[1], NULL, 0);
    pthread_t threads[THREADS];
    int started[THREADS] = {0};
    for (int i = 1; i < THREADS; i++)
        started[i] = pthread_create(&threads[i], NULL, work, (void *)(long)i) == 0;
    work((void *)0L);
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
