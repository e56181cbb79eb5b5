/* Sixteen threads allocate, fill and free a block in a loop while the main thread returns
   from main: the exit-time leak scan stops them wherever they are, inside malloc and free too.
   argv[1]: "malloc" (234 bytes), "aligned" (aligned_alloc(64, 192): a 64-byte front pad),
   "realloc" (a block grown and moved by realloc, then freed). Valgrind 3.19 reports only the
   threads' own DTVs ("4,352 bytes in 16 blocks are possibly lost", allocate_dtv by
   pthread_create); nothing about the blocks in flight. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *how = "malloc";

static void *churn(void *arg) {
    for (;;) {
        char *block;
        if (!strcmp(how, "aligned")) {
            block = aligned_alloc(64, 192);
            memset(block, 1, 192);
        } else if (!strcmp(how, "realloc")) {
            block = malloc(24);
            memset(block, 1, 24);
            block = realloc(block, 300);
            memset(block, 2, 300);
        } else {
            block = malloc(234);
            memset(block, 1, 234);
        }
        free(block);
    }
    return arg;
}

int main(int argc, char **argv) {
    if (argc > 1) how = argv[1];
    for (int i = 0; i < 16; ++i) {
        pthread_t thread;
        pthread_create(&thread, NULL, churn, NULL);
    }
    usleep(50000);
    puts("done");
    return 0;
}
