/* A thread that blocks every signal with the raw system call (past the C library, as a
 * language runtime may) cannot be stopped for the leak scan (gpa stops threads with a
 * signal): it keeps running, its heap is not examined, and the report says so. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int ready;

static void *worker(void *unused) {
    (void)unused;
    sigset_t all;
    sigfillset(&all);
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, 8);
    char *dropped = malloc(4096);
    dropped[0] = 1;
    ready = 1;
    for (;;) pause();
    return NULL;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    while (!ready) usleep(1000);
    puts("done");
    return 0;
}
