/* The child of a fork made while another thread runs, ending with _exit without allocating
 * (as a Python child forked just after Thread.join returned, before the thread had ended,
 * and ended with os._exit): the blocks the forking thread allocated before the fork are the
 * child's to check. main leaks a 32-byte block and keeps a 64-byte one in a global; a second
 * thread, allocating nothing, waits; main forks. Valgrind 3.19, child: 32 bytes in 1 blocks
 * definitely lost, 64 in 1 still reachable; parent: the same and the thread's DTV possibly
 * lost (272 bytes; 16 more under gpa, its TLS module). gpa's check mode reported the child
 * "all heap blocks were freed": the forking thread's heap was still owned by its parent
 * thread's id, which no thread of the child has, and the exit scan of a threaded fork's child
 * leaves such heaps out. (docs/sweeps/servers.md, item 5) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready, done;
static char *kept;

static void *wait_for_end(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_broadcast(&cond);
    while (!done) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void) {
    char *volatile lost = malloc(32);
    memset(lost, 'l', 32);
    lost = NULL;
    kept = malloc(64);
    memset(kept, 'k', 64);
    pthread_t thread;
    if (pthread_create(&thread, NULL, wait_for_end, NULL) != 0) return 1;
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
    exit(0); /* the thread still waiting */
}
