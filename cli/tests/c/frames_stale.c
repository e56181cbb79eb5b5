/* A dropped block whose only copies lie in the dead stack below main's frame, where the frames
 * of gpa's own malloc and free lie whenever the exit scan stops main inside them. main leaves
 * copies of the 33-byte block's address in a deep frame that returns (as any function that
 * handled the pointer may), drops the pointer, clears the part of its dead stack a red zone
 * covers, and loops on malloc and free while a second thread ends the process after 20 ms:
 * argv[1] "exit" (it calls exit) or "term" (it sends the process SIGTERM, which it takes
 * itself: the other threads block it). The loop's block is always reachable from `sink` or
 * a register of main.
 * Valgrind 3.19 (both ways): 33 bytes in 1 blocks definitely lost, nothing indirectly lost,
 * 272 bytes in 1 blocks possibly lost (the second thread's DTV; 16 bytes more under gpa, whose
 * preload library has thread-locals), still reachable 0 or 24 bytes in 0 or 1 blocks (the
 * loop's, by where main was stopped). Under Valgrind the allocator runs on Valgrind's own
 * stack, and memcheck skips the unwritten stack slots where the copies lie. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile sink;

/* A deep frame that keeps copies of the pointer it was given (a function that handled it,
 * with large locals), then returns: the copies stay in the dead stack. */
static void __attribute__((noinline)) leave_copies(void *block) {
    void *volatile area[4096];
    for (int i = 0; i < 4096; i++)
        area[i] = block;
}

/* Clears the dead stack just below main's frame (more than the 128-byte red zone a stopped
 * thread's scan starts below its stack pointer), so that only frames deeper than that can
 * show a copy. */
static void __attribute__((noinline)) clear_near(void) {
    char near[160];
    explicit_bzero(near, sizeof near);
}

static void *ender(void *how) {
    usleep(20000);
    if (!strcmp(how, "term")) {
        sigset_t term;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        pthread_sigmask(SIG_UNBLOCK, &term, NULL);
        kill(getpid(), SIGTERM);
    }
    else
        exit(0);
    return NULL;
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "exit";
    /* SIGTERM goes to the ending thread: main blocks it (the thread inherits the mask and
     * unblocks it). */
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, NULL);
    pthread_t thread;
    pthread_create(&thread, NULL, ender, (void *)how);
    char *lost = malloc(33);
    strcpy(lost, "lost");
    leave_copies(lost);
    lost = NULL;
    clear_near();
    for (;;) {
        void *block = malloc(24);
        sink = block;
        free(block);
    }
}
