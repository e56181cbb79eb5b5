/* A thread that blocks every signal with the raw system call (as leak_thread_blocked_raw.c)
 * and never allocates, waiting in `read` on a pipe nobody writes while main leaks 16 bytes
 * and returns (after printing "done"). The exit scan cannot stop it; it owns no heap, so the scan judged the DTVs
 * of the thread descriptors no running thread uses freed (docs/sweeps/lifecycle.md item
 * 20), this running thread's among them, where Valgrind reports it "possibly lost" as any
 * running thread's (item 21). */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int blocked[2], ready[2];

static void *idle(void *unused) {
    (void)unused;
    sigset_t all;
    sigfillset(&all);
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, 8);
    if (write(ready[1], "r", 1) != 1) return NULL;
    char byte;
    while (read(blocked[0], &byte, 1) > 0) {
    }
    return NULL;
}

int main(void) {
    pthread_t thread;
    char byte;
    if (pipe(blocked) != 0 || pipe(ready) != 0 || pthread_create(&thread, NULL, idle, NULL) != 0
        || read(ready[0], &byte, 1) != 1)
        return 2;
    void *volatile lost = malloc(16);
    memset(lost, 1, 16);
    lost = NULL;
    /* Not through stdio: with a thread running on, glibc's exit-time frees are skipped,
     * and stdout's buffer would stay "still reachable" (Valgrind frees it). */
    if (write(1, "done\n", 5) != 5) return 2;
    return 0;
}
