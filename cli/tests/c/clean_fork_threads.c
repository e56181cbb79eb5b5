/* Clean: two threads churn small and large blocks while the main thread forks 40 times;
 * each child allocates and frees, then _exits. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile int stop;
static void *churn(void *arg) {
    (void)arg;
    while (!stop) { void *p = malloc(300000); memset(p, 1, 100); free(p); void *q = malloc(64); free(q); }
    return NULL;
}
int main(void) {
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, churn, NULL);
    int ok = 0;
    for (int i = 0; i < 40; i++) {
        pid_t child = fork();
        if (child == 0) { void *p = malloc(300000); void *q = malloc(64); free(q); free(p); _exit(0); }
        int status; waitpid(child, &status, 0);
        if (WIFEXITED(status)) ok++;
    }
    stop = 1;
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    printf("ok %d\n", ok);
    return 0;
}
