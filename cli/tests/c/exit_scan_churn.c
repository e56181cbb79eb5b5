/* Sixteen threads allocate, fill and free a 234-byte block in a loop while the main thread
   returns from main: the exit-time leak scan stops them wherever they are, inside malloc and
   free too. Valgrind 3.19 reports only the threads' own DTVs ("4,352 bytes in 16 blocks are
   possibly lost", allocate_dtv by pthread_create); nothing about the blocks in flight. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *churn(void *arg) {
    for (;;) {
        char *block = malloc(234);
        memset(block, 1, 234);
        free(block);
    }
    return arg;
}

int main(void) {
    for (int i = 0; i < 16; ++i) {
        pthread_t thread;
        pthread_create(&thread, NULL, churn, NULL);
    }
    usleep(50000);
    puts("done");
    return 0;
}
