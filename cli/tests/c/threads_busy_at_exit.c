/* Exit while other threads are busy: 50 idle threads, one creating short-lived detached
 * threads without pause, two allocating and freeing large and small blocks. The leak scan
 * stops them all (or reads around those it cannot stop), never faults, never hangs, and the
 * report is written. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile int started;

static void *idle(void *unused) {
    (void)unused;
    __sync_fetch_and_add(&started, 1);
    for (;;) pause();
    return NULL;
}

static void *spawner(void *unused) {
    (void)unused;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    for (;;) {
        pthread_t thread;
        void *argument = malloc(5);
        if (pthread_create(&thread, &attributes, (void *(*)(void *))free, argument) != 0) {
            free(argument);
            usleep(100);
        }
    }
    return NULL;
}

static void *churn(void *unused) {
    (void)unused;
    for (;;) {
        void *large = malloc(100000);
        free(malloc(16));
        free(large);
    }
    return NULL;
}

int main(void) {
    pthread_t thread;
    for (int i = 0; i < 50; i++) pthread_create(&thread, NULL, idle, NULL);
    pthread_create(&thread, NULL, spawner, NULL);
    pthread_create(&thread, NULL, churn, NULL);
    pthread_create(&thread, NULL, churn, NULL);
    while (started < 50) usleep(1000);
    usleep(20000);
    puts("done");
    return 0;
}
