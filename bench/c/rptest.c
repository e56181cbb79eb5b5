/* rptest: batches of random-size blocks with cross-thread frees (after rpmalloc's benchmark,
 * as run by mimalloc-bench: 8..16000 bytes, biased to small sizes). Each thread repeatedly
 * allocates a batch of blocks, writes them, frees a random part of its older blocks, and
 * every few loops hands part of its live blocks to the next thread (through a per-thread
 * mailbox), which frees them.
 *
 * A thread that has done its loops goes on emptying its mailbox until every thread is done
 * (rpmalloc's benchmark likewise keeps freeing other threads' blocks to the end). Without
 * that, the thread left running posts into a mailbox nobody empties until main does at
 * exit, so the peak live bytes, and every allocator's peak RSS, grew with how far behind
 * the scheduler had left the survivor: from 40 to 230 MiB between runs of one allocator
 * (docs/performance.md, "rptestN's peak RSS"). */
#include "common.h"

#include <stdatomic.h>
#include <time.h>

enum { BATCH = 1000, KEEP = 8000, LOOPS = 6000, MIN_SIZE = 8, MAX_SIZE = 16000, HANDOFF = 500 };

typedef struct {
    pthread_mutex_t lock;
    void **blocks;
    size_t count, capacity;
} mailbox_t;

typedef struct {
    int id, threads;
    long loops;
    unsigned long sum;
} worker_t;

static mailbox_t *mailboxes;
static atomic_int running; /* threads that have not finished their loops */

/* Sizes: uniformly distributed exponents, so that small blocks dominate as in real programs. */
static size_t random_size(uint64_t *seed) {
    unsigned bits = (unsigned)rng_range(seed, 3, 13);
    size_t size = rng_range(seed, (size_t)1 << bits, ((size_t)2 << bits) - 1);
    return size < MIN_SIZE ? MIN_SIZE : size > MAX_SIZE ? MAX_SIZE : size;
}

static void post(mailbox_t *box, void **blocks, size_t count) {
    pthread_mutex_lock(&box->lock);
    if (box->count + count > box->capacity) {
        box->capacity = (box->count + count) * 2;
        box->blocks = check_ptr(realloc(box->blocks, box->capacity * sizeof *box->blocks), "mailbox");
    }
    memcpy(box->blocks + box->count, blocks, count * sizeof *blocks);
    box->count += count;
    pthread_mutex_unlock(&box->lock);
}

static void drain(mailbox_t *box) {
    pthread_mutex_lock(&box->lock);
    for (size_t i = 0; i < box->count; i++) free(box->blocks[i]);
    box->count = 0;
    pthread_mutex_unlock(&box->lock);
}

static void *worker(void *argument) {
    worker_t *self = argument;
    uint64_t seed = 0x1234 + (uint64_t)self->id;
    void **live = check_ptr(calloc(KEEP, sizeof *live), "live");
    void *outgoing[HANDOFF];
    unsigned long sum = 0;
    for (long loop = 0; loop < self->loops; loop++) {
        for (int i = 0; i < BATCH; i++) {
            size_t slot = rng_below(&seed, KEEP);
            free(live[slot]);
            size_t size = random_size(&seed);
            char *p = live[slot] = malloc(size);
            p[0] = (char)i;
            p[size - 1] = (char)size;
            sum += (unsigned char)p[size - 1];
        }
        drain(&mailboxes[self->id]);
        if (loop % 4 == 3 && self->threads > 1) {
            for (int i = 0; i < HANDOFF; i++) {
                size_t slot = rng_below(&seed, KEEP);
                outgoing[i] = live[slot];
                live[slot] = NULL;
            }
            post(&mailboxes[(self->id + 1) % self->threads], outgoing, HANDOFF);
        }
    }
    for (int i = 0; i < KEEP; i++) free(live[i]);
    free(live);
    self->sum = sum;
    /* Go on freeing what the others hand over until they are done too. The count is read
     * before the drain, so the drain after the count reads 0 empties everything posted. */
    atomic_fetch_sub(&running, 1);
    for (;;) {
        int others = atomic_load(&running);
        drain(&mailboxes[self->id]);
        if (others == 0) break;
        nanosleep(&(struct timespec){.tv_nsec = 100000}, NULL);
    }
    return NULL;
}

int main(int argc, char **argv) {
    long scale;
    int threads;
    bench_args(argc, argv, &scale, &threads);
    mailboxes = check_ptr(calloc((size_t)threads, sizeof *mailboxes), "mailboxes");
    worker_t *workers = check_ptr(calloc((size_t)threads, sizeof *workers), "workers");
    void **arguments = check_ptr(malloc(sizeof *arguments * (size_t)threads), "arguments");
    for (int t = 0; t < threads; t++) {
        pthread_mutex_init(&mailboxes[t].lock, NULL);
        workers[t] = (worker_t){.id = t, .threads = threads, .loops = scaled(LOOPS, scale, 2) / threads};
        arguments[t] = &workers[t];
    }
    atomic_store(&running, threads);
    run_threads(threads, worker, arguments);
    unsigned long sum = 0;
    for (int t = 0; t < threads; t++) {
        drain(&mailboxes[t]);
        free(mailboxes[t].blocks);
        sum += workers[t].sum;
    }
    printf("rptest: %d threads, checksum %lu\n", threads, sum);
    free(mailboxes);
    free(workers);
    free(arguments);
    return 0;
}
