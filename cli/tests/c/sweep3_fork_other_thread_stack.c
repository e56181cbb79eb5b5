/* The child of a fork made while another thread runs, ending with _exit without allocating
 * (as Python's multiprocessing.Process child can end: os._exit): every block it inherited is
 * its own to check. main leaks a 32-byte block (its only pointer dropped), a second thread
 * keeps the only pointer to a 48-byte block in a local and waits; main forks. In the child
 * only the forking thread exists, so both blocks are definitely lost there (Valgrind 3.19,
 * child: 80 bytes in 2 blocks definitely lost). In the parent the thread still runs and holds
 * its block (Valgrind, parent: 32 bytes definitely lost, 272 possibly lost (the thread's
 * DTV), 48 still reachable). gpa's check mode reported the child "all heap blocks were
 * freed": its exit scan leaves out the heaps of threads that do not exist in a threaded
 * fork's child, and the forking thread's own heap is one of them (its owner is the parent's
 * thread id). (docs/sweeps/servers.md) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready, done;

static void *hold(void *arg) {
    (void)arg;
    char *volatile block = malloc(48);
    memset(block, 'h', 48);
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_broadcast(&cond);
    while (!done) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    free(block);
    return NULL;
}

int main(void) {
    char *volatile lost = malloc(32);
    memset(lost, 'm', 32);
    lost = NULL;
    pthread_t thread;
    if (pthread_create(&thread, NULL, hold, NULL) != 0) return 1;
    pthread_mutex_lock(&lock);
    while (!ready) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) _exit(0);
    int status;
    waitpid(pid, &status, 0);
    printf("child %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    fflush(stdout);
    /* End with the thread still holding its block, as the child saw it. */
    exit(0);
}
