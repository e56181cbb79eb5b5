/* Sixteen threads allocate, fill and free blocks in a loop while the main thread returns from
   main: the exit-time leak scan stops them wherever they are. Run under `gpa run --guard` and
   `--guard-sample 3` (with and without `--guard-underflow`): every allocation path of guard
   mode, on guarded blocks and (sampled) on unguarded ones side by side: malloc of small and
   large blocks, calloc, realloc grown and shrunk (guard mode moves every guarded block; check
   mode's general path resizes large ones in place), aligned_alloc, posix_memalign of a page,
   and operator new and new[] (called by their mangled names: link with libstdc++ and build
   with -DWITH_NEW). Each thread runs every step in turn, starting at its own number.
   Valgrind 3.19 reports only the threads' own DTVs ("4,608 bytes in 16 blocks are possibly
   lost" with libstdc++ linked, allocate_dtv by pthread_create); nothing about the blocks in
   flight. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void small(void) {
    char *block = malloc(234);
    memset(block, 1, 234);
    free(block);
}

static void large(void) {
    char *block = malloc(200000);
    memset(block, 1, 64);
    free(block);
}

static void zeroed(void) {
    char *block = calloc(1, 100);
    block[99] = 1;
    free(block);
}

static void grown(void) {
    char *block = malloc(24);
    memset(block, 1, 24);
    block = realloc(block, 300);
    memset(block, 2, 300);
    block = realloc(block, 150000);
    block[149999] = 3;
    block = realloc(block, 300000);
    block[299999] = 4;
    block = realloc(block, 40);
    memset(block, 5, 40);
    free(block);
}

static void aligned(void) {
    char *block = aligned_alloc(64, 192);
    memset(block, 1, 192);
    free(block);
    void *page = NULL;
    if (posix_memalign(&page, 4096, 100) == 0) {
        memset(page, 2, 100);
        free(page);
    }
}

#ifdef WITH_NEW
void *_Znwm(unsigned long size);
void *_Znam(unsigned long size);
void _ZdlPv(void *block);
void _ZdaPv(void *block);

static void with_new(void) {
    char *object = _Znwm(64);
    memset(object, 1, 64);
    char *array = _Znam(100);
    memset(array, 2, 100);
    _ZdaPv(array);
    _ZdlPv(object);
}
#else
static void with_new(void) { small(); }
#endif

static void *churn(void *arg) {
    uintptr_t number = (uintptr_t)arg;
    void (*steps[])(void) = {small, large, zeroed, grown, aligned, with_new};
    const size_t count = sizeof steps / sizeof steps[0];
    for (size_t i = number;; ++i) steps[i % count]();
    return arg;
}

int main(void) {
    for (uintptr_t i = 0; i < 16; ++i) {
        pthread_t thread;
        pthread_create(&thread, NULL, churn, (void *)i);
    }
    usleep(50000);
    puts("done");
    return 0;
}
