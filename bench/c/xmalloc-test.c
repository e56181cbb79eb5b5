/* xmalloc-test: producers and consumers (after Lever and Boreham's xmalloc test, as run by
 * mimalloc-bench with 64-byte objects). THREADS producer threads allocate batches of 4096
 * blocks of 64 bytes, write them and push each batch on a shared, bounded stack; as many
 * consumer threads pop batches and free every block: every free is a free of a block another
 * thread allocated. A fixed number of batches in all. */
#include "common.h"

enum { PER_BATCH = 4096, OBJECT = 64, QUEUE_LIMIT = 100, BATCHES = 6000 };

typedef struct batch {
    struct batch *next;
    void *objects[PER_BATCH];
} batch_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static batch_t *stack;
static int queued;
static long to_produce, to_consume;

static void push(batch_t *batch) {
    pthread_mutex_lock(&lock);
    while (queued >= QUEUE_LIMIT) pthread_cond_wait(&not_full, &lock);
    batch->next = stack;
    stack = batch;
    queued++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
}

/* The next batch, or NULL when every batch has been consumed. */
static batch_t *pop(void) {
    pthread_mutex_lock(&lock);
    while (stack == NULL && to_consume > 0) pthread_cond_wait(&not_empty, &lock);
    batch_t *batch = stack;
    if (batch != NULL) {
        stack = batch->next;
        queued--;
        to_consume--;
        pthread_cond_signal(&not_full);
    }
    if (to_consume == 0) pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&lock);
    return batch;
}

static int claim_production(void) {
    pthread_mutex_lock(&lock);
    int go = to_produce > 0;
    if (go) to_produce--;
    pthread_mutex_unlock(&lock);
    return go;
}

static void *producer(void *argument) {
    (void)argument;
    while (claim_production()) {
        batch_t *batch = check_ptr(malloc(sizeof *batch), "batch");
        for (int i = 0; i < PER_BATCH; i++) {
            batch->objects[i] = malloc(OBJECT);
            memset(batch->objects[i], i, OBJECT);
        }
        push(batch);
    }
    return NULL;
}

static void *consumer(void *argument) {
    unsigned long *sum = argument;
    batch_t *batch;
    while ((batch = pop()) != NULL) {
        for (int i = 0; i < PER_BATCH; i++) {
            *sum += ((unsigned char *)batch->objects[i])[OBJECT - 1];
            free(batch->objects[i]);
        }
        free(batch);
    }
    return NULL;
}

static void *either(void *argument) {
    unsigned long *slot = argument;
    return slot[1] ? consumer(slot) : producer(slot);
}

int main(int argc, char **argv) {
    long scale;
    int threads;
    bench_args(argc, argv, &scale, &threads);
    to_produce = to_consume = scaled(BATCHES, scale, 4);
    int count = 2 * threads;
    unsigned long (*slots)[2] = check_ptr(calloc((size_t)count, sizeof *slots), "slots");
    void **arguments = check_ptr(malloc(sizeof *arguments * (size_t)count), "arguments");
    for (int i = 0; i < count; i++) {
        slots[i][1] = (unsigned long)(i % 2);
        arguments[i] = slots[i];
    }
    run_threads(count, either, arguments);
    unsigned long sum = 0;
    for (int i = 0; i < count; i++) sum += slots[i][1] ? slots[i][0] : 0;
    printf("xmalloc-test: %d producers, %d consumers, checksum %lu\n", threads, threads, sum);
    free(slots);
    free(arguments);
    return 0;
}
