/* The child of a fork drops its only pointer to a block, whose copies lie below its stack
 * pointer (a function that returned left 64 of them in its frame), and ends with _exit.
 * Valgrind 3.19, child: 32 bytes in 1 blocks definitely lost (the stack below the stack
 * pointer is no root); parent: 32 bytes still reachable. A thread of the parent that ended
 * before the fork (joined: its stack is in glibc's cache of stacks, with copies of a
 * second pointer in its dead frames) adds nothing: the child drops that pointer too, and
 * the 64-byte block is definitely lost in the child (parent: still reachable). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *volatile keep;
static char *volatile kept_by_thread;

__attribute__((noinline)) static void leave_copies(char *block) {
    char *volatile copies[64];
    for (int i = 0; i < 64; i++) copies[i] = block;
}

static void *thread_copies(void *arg) {
    (void)arg;
    kept_by_thread = malloc(64);
    memset(kept_by_thread, 't', 64);
    leave_copies(kept_by_thread);
    return NULL;
}

int main(void) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, thread_copies, NULL) != 0) return 1;
    pthread_join(thread, NULL);
    keep = malloc(32);
    memset(keep, 'o', 32);
    leave_copies(keep);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        keep = NULL;
        kept_by_thread = NULL;
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    fflush(stdout);
    exit(0);
}
