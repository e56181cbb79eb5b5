/* argv[1] "two": two threads call exit(7) at the same moment (a barrier) while main waits
 * in pthread_join. "thread": one thread calls exit(8) while main is blocked in read() on a
 * pipe nobody writes. "detached": main returns 0 while a detached thread loops on
 * malloc/free. Each leaks 16 bytes from main first. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static pthread_barrier_t barrier;
static void *exiter(void *arg) {
    pthread_barrier_wait(&barrier);
    exit((int)(long)arg);
}
static void *churn(void *arg) {
    (void)arg;
    for (;;) {
        void *p = malloc(1 + (rand() & 4095));
        free(p);
    }
    return NULL;
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char *lost = malloc(16);
    memset(lost, 4, 16);
    lost = NULL;
    printf("start %s\n", argv[1]);
    fflush(stdout);
    pthread_t a, b;
    if (!strcmp(argv[1], "two")) {
        pthread_barrier_init(&barrier, NULL, 2);
        pthread_create(&a, NULL, exiter, (void *)7L);
        pthread_create(&b, NULL, exiter, (void *)7L);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
    } else if (!strcmp(argv[1], "thread")) {
        int fds[2];
        pipe(fds);
        pthread_barrier_init(&barrier, NULL, 1);
        pthread_create(&a, NULL, exiter, (void *)8L);
        char c;
        read(fds[0], &c, 1);
    } else {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_create(&a, &attr, churn, NULL);
        usleep(20000);
    }
    return 0;
}
