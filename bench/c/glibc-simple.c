/* glibc-simple: the allocator's fastest path, single-threaded (after glibc's
 * bench-malloc-simple). Allocate n blocks of 16 bytes, write every byte, free the first half
 * in allocation order and the second half in reverse order; n is 25, 100, 400 and 1600, with
 * the same total number of blocks for each. The batch runs three times: on the main thread,
 * on a second thread, and on the main thread again after that thread existed. */
#include "common.h"

enum { BLOCK = 16, TOTAL = 40000000, MAX_BATCH = 1600 };
static const int BATCHES[] = {25, 100, 400, MAX_BATCH};
static long total_blocks;

static unsigned long run_batch(char **blocks, int n, long rounds) {
    unsigned long sum = 0;
    for (long round = 0; round < rounds; round++) {
        for (int i = 0; i < n; i++) {
            char *p = blocks[i] = malloc(BLOCK);
            for (int b = 0; b < BLOCK; b++) p[b] = (char)b;
        }
        sum += (unsigned char)blocks[n / 2][3];
        for (int i = 0; i < n / 2; i++) free(blocks[i]);
        for (int i = n - 1; i >= n / 2; i--) free(blocks[i]);
    }
    return sum;
}

static unsigned long run_all(char **blocks) {
    unsigned long sum = 0;
    for (size_t k = 0; k < sizeof BATCHES / sizeof BATCHES[0]; k++) {
        int n = BATCHES[k];
        sum += run_batch(blocks, n, total_blocks / 3 / 4 / n + 1);
    }
    return sum;
}

static void *thread_body(void *argument) {
    unsigned long *sum = argument;
    char **blocks = check_ptr(malloc(MAX_BATCH * sizeof *blocks), "block table");
    *sum = run_all(blocks);
    free(blocks);
    return NULL;
}

int main(int argc, char **argv) {
    long scale;
    int threads;
    bench_args(argc, argv, &scale, &threads);
    total_blocks = scaled(TOTAL, scale, 10000);
    char **blocks = check_ptr(malloc(MAX_BATCH * sizeof *blocks), "block table");
    unsigned long sum = run_all(blocks);
    unsigned long in_thread = 0;
    void *arguments[] = {&in_thread};
    run_threads(1, thread_body, arguments);
    sum += in_thread + run_all(blocks);
    free(blocks);
    printf("glibc-simple: checksum %lu\n", sum);
    return 0;
}
