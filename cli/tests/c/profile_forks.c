/* Forks while two threads allocate: each child allocates its own blocks and exits; every
 * process of the run writes its own heap profile. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int stop;

static void *churn(void *arg) {
    (void)arg;
    while (!stop) {
        void *p = malloc(3000);
        memset(p, 1, 100);
        free(p);
    }
    return NULL;
}

static void *child_block(void) { return malloc(12345); }

int main(void) {
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, churn, NULL);
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        pid_t child = fork();
        if (child == 0) {
            void *kept = child_block();
            exit(kept == NULL);
        }
        int status;
        waitpid(child, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ok++;
    }
    stop = 1;
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    printf("ok %d\n", ok);
    return 0;
}
