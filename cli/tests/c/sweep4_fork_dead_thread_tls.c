/* The child of a fork made while another thread runs: the only pointer to a block is in that
 * thread's `__thread` variable (its static TLS block, at the top of its stack mapping). In
 * the child the thread does not exist; glibc's fork handler puts its stack in the cache of
 * stacks and `__libc_freeres` unmaps it, so nothing points to the block there. Valgrind
 * 3.19, child: 48 bytes in 1 blocks definitely lost; parent (the thread still waits): 288
 * bytes possibly lost (the thread's DTV), 48 still reachable. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready, done;
static __thread char *mine;

static void *hold(void *arg) {
    (void)arg;
    mine = malloc(48);
    memset(mine, 't', 48);
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_broadcast(&cond);
    while (!done) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void) {
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
    exit(0);
}
