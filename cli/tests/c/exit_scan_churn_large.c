/* Sixteen threads allocate, fill and free blocks in a loop while the main thread returns from
   main: the exit-time leak scan stops them wherever they are, inside malloc, calloc, realloc,
   aligned_alloc, posix_memalign and operator new's C twin too. Unlike exit_scan_churn.c, the
   blocks take the allocator's general path: large blocks (their own mappings), blocks of an
   alignment above 16, calloc, and realloc across the large-block threshold both ways.
   argv[1]: "large" (malloc(200000)), "calloc" (calloc(1, 150000)), "aligned"
   (posix_memalign(4096, 100000) and aligned_alloc(256, 4000)), "realloc" (malloc(100)
   grown by realloc to 300000, then shrunk to 40), "new" (operator new of 200000 and 64
   bytes, operator new[] of 100000, called by their mangled names: link with libstdc++),
   "mixed" (each thread one of large, calloc, aligned, realloc by its number). Valgrind 3.19 reports only the threads' own DTVs ("4,352 bytes in 16 blocks are
   possibly lost", allocate_dtv by pthread_create); nothing about the blocks in flight. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *how = "large";

static void large(void) {
    char *block = malloc(200000);
    memset(block, 1, 200000);
    free(block);
}

static void zeroed(void) {
    char *block = calloc(1, 150000);
    block[149999] = 1;
    free(block);
}

static void aligned(void) {
    void *block = NULL;
    if (posix_memalign(&block, 4096, 100000) == 0) {
        memset(block, 1, 100000);
        free(block);
    }
    char *small = aligned_alloc(256, 4000);
    memset(small, 2, 4000);
    free(small);
}

static void grown(void) {
    char *block = malloc(100);
    memset(block, 1, 100);
    block = realloc(block, 300000);
    memset(block, 2, 300000);
    block = realloc(block, 40);
    memset(block, 3, 40);
    free(block);
}

#ifdef WITH_NEW
void *_Znwm(unsigned long size);
void *_Znam(unsigned long size);
void _ZdlPv(void *block);
void _ZdaPv(void *block);

static void with_new(void) {
    char *object = _Znwm(200000);
    memset(object, 1, 200000);
    char *small = _Znwm(64);
    memset(small, 2, 64);
    char *array = _Znam(100000);
    memset(array, 3, 100000);
    _ZdaPv(array);
    _ZdlPv(small);
    _ZdlPv(object);
}
#endif

static void *churn(void *arg) {
    uintptr_t number = (uintptr_t)arg;
    void (*step)(void) = large;
    if (!strcmp(how, "calloc")) step = zeroed;
    else if (!strcmp(how, "aligned")) step = aligned;
    else if (!strcmp(how, "realloc")) step = grown;
#ifdef WITH_NEW
    else if (!strcmp(how, "new")) step = with_new;
#endif
    else if (!strcmp(how, "mixed")) {
        void (*steps[])(void) = {large, zeroed, aligned, grown};
        step = steps[number % 4];
    }
    for (;;) step();
    return arg;
}

int main(int argc, char **argv) {
    if (argc > 1) how = argv[1];
    for (uintptr_t i = 0; i < 16; ++i) {
        pthread_t thread;
        pthread_create(&thread, NULL, churn, (void *)i);
    }
    usleep(50000);
    puts("done");
    return 0;
}
