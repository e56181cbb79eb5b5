/* cache-scratch: passive false sharing (after Hoard's cache-scratch benchmark). The main
 * thread allocates one small object per thread, side by side, and hands them out; each thread
 * frees its object, then repeatedly allocates a small object, writes it many times and frees
 * it. An allocator that gives a thread the slot it just freed (next to another thread's
 * object, on the same cache line) makes the threads' writes fight over that line. Run with one
 * thread (cache-scratch1) and with THREADS threads (cache-scratchN). */
#include "common.h"

enum { OBJECT = 8, ROUNDS = 1000, WRITES = 300000 };

typedef struct {
    char *handed_over;
    long rounds;
    unsigned long sum;
} worker_t;

static void *worker(void *argument) {
    worker_t *self = argument;
    free(self->handed_over);
    unsigned long sum = 0;
    for (long round = 0; round < self->rounds; round++) {
        volatile char *p = malloc(OBJECT);
        for (int b = 0; b < OBJECT; b++) p[b] = 0;
        for (int w = 0; w < WRITES; w++)
            for (int b = 0; b < OBJECT; b++) p[b] = (char)(p[b] + w);
        sum += (unsigned char)p[OBJECT - 1];
        free((void *)p);
    }
    self->sum = sum;
    return NULL;
}

int main(int argc, char **argv) {
    long scale;
    int threads;
    bench_args(argc, argv, &scale, &threads);
    worker_t *workers = check_ptr(calloc((size_t)threads, sizeof *workers), "workers");
    void **arguments = check_ptr(malloc(sizeof *arguments * (size_t)threads), "arguments");
    for (int t = 0; t < threads; t++) {
        workers[t].handed_over = check_ptr(malloc(OBJECT), "object");
        workers[t].rounds = scaled(ROUNDS, scale, 2) / threads;
        arguments[t] = &workers[t];
    }
    run_threads(threads, worker, arguments);
    unsigned long sum = 0;
    for (int t = 0; t < threads; t++) sum += workers[t].sum;
    printf("cache-scratch: %d threads, checksum %lu\n", threads, sum);
    free(workers);
    free(arguments);
    return 0;
}
