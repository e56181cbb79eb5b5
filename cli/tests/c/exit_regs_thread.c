/* Exit roots: `exit` called by a thread other than the main one, its only pointers to two
 * blocks in r15 and rbp. Valgrind 3.19: both still reachable (321 + 432 bytes), beside the
 * thread's stack block (272 bytes, possibly lost); 543 bytes dropped, definitely lost. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static void leave(void) {
    register char *a __asm__("r15") = malloc(321);
    register char *b __asm__("rbp") = malloc(432);
    char *dropped = malloc(543);
    dropped[0] = 0;
    __asm__ volatile("" : "+r"(a), "+r"(b) : : "memory");
    puts("done");
    fflush(stdout);
    __asm__ volatile("" : : "r"(a), "r"(b) : "memory");
    exit(0);
}

static void *worker(void *unused) {
    (void)unused;
    leave();
    return NULL;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    pthread_join(thread, NULL);
    return 1;
}
