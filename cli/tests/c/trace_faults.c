/* Stack-trace sweep: an overflow and a leak inside a signal handler, and in a thread. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
char *volatile block;
void *volatile sink;
__attribute__((noinline)) static void poke(char *p, int i) { p[i] = 1; }
static void handler(int sig)
{
    (void)sig;
    poke(block, 16);
    sink = malloc(24);
}
__attribute__((noinline)) static void *worker(void *arg)
{
    char *p = malloc(32);
    poke(p, 32);
    sink = malloc(40);
    free(p);
    return arg;
}
int main(void)
{
    block = malloc(16);
    signal(SIGUSR1, handler);
    raise(SIGUSR1);
    pthread_t t;
    pthread_create(&t, 0, worker, 0);
    pthread_join(t, 0);
    free(block);
    sink = 0;
    return 0;
}
