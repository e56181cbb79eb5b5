/* Leak roots: `exit` called by a thread the program started with a 64 KiB stack, plenty for
 * its own frames. The leak scan and its report need more than that: gpa runs them on a stack
 * of its own (before, the process ended with SIGSEGV on the thread's guard page, unchecked).
 * The thread dropped 100 bytes (definitely lost); its thread vector is reached through its
 * descriptor's interior pointer (possibly lost). Valgrind agrees. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *worker(void *unused) {
    (void)unused;
    char *dropped = malloc(100);
    strcpy(dropped, "dropped");
    dropped = NULL;
    puts("done");
    exit(0);
}

int main(void) {
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, 64 * 1024);
    pthread_t thread;
    int status = pthread_create(&thread, &attributes, worker, NULL);
    if (status != 0) {
        printf("pthread_create: %s\n", strerror(status));
        return 1;
    }
    pthread_join(thread, NULL);
    return 0;
}
