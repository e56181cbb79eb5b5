/* A thread holds a 40-byte block (only on its stack) and waits; main leaks 24 bytes, then
 * execv's argv[1] (life_child) with the argument "after-exec". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int ready;
static void *holder(void *arg) {
    volatile char *held = malloc(40);
    memset((char *)held, 2, 40);
    pthread_mutex_lock(&m);
    ready = 1;
    pthread_cond_signal(&c);
    pthread_mutex_unlock(&m);
    for (;;) pause();
    return (void *)held;
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    pthread_t t;
    pthread_create(&t, NULL, holder, NULL);
    pthread_mutex_lock(&m);
    while (!ready) pthread_cond_wait(&c, &m);
    pthread_mutex_unlock(&m);
    char *lost = malloc(24);
    memset(lost, 3, 24);
    lost = NULL;
    printf("exec now\n");
    fflush(stdout);
    execl(argv[1], argv[1], "after-exec", (char *)NULL);
    perror("execl");
    return 1;
}
