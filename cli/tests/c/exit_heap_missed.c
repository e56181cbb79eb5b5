/* A thread the exit scan cannot stop, owning a heap (lifecycle.md items 26 and 27).
 *
 * The worker blocks every signal with the raw rt_sigprocmask (all 64, glibc's internal 32
 * and 33 too: the mask glibc's own thread-exit code uses), so gpa's stop signal never lands
 * and the scan misses it. It allocates `holder` (64 bytes, kept on its stack); main
 * allocates `payload` (200 bytes), stores it in `holder` and drops its own pointer, so the
 * payload is reachable only through a block of the worker's heap. Main leaks 16 bytes and
 * returns while the worker waits in `read`. Output by `write` (with a thread running at
 * exit glibc's exit-time frees are skipped, and stdout's buffer would stay reachable).
 *
 * Ways (argv[1]):
 *   chain    as above.
 *   reused   a first thread allocates and is joined (its exit hook ran, its id is in gpa's
 *            ring of ended threads); the worker is then given the same thread id by writing
 *            /proc/sys/kernel/ns_last_pid (run it in a PID namespace of its own where it is
 *            root: `unshare -Urpf --mount-proc`). Prints "reused" when the id was given
 *            again, "not reused" otherwise.
 *   payloads as chain, with a chain of 3 blocks of 40 bytes from main below the payload
 *            (payload -> a -> b -> c).
 *   kept     as chain, without main's 16-byte leak.
 *   churn    as chain, and the worker goes on replacing blocks of 16 bytes to 256 KiB in 64
 *            slots of its stack (pages, segments and large blocks come and go while the scan
 *            reads its heap); main lets it run 50 ms first.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int pipe_fds[2];
static void *volatile *volatile handed; /* where main stores the payload (a worker block) */
static volatile pid_t worker_tid;
static volatile int ready;
static int churn;

static void say(const char *text) {
    ssize_t ignored = write(1, text, strlen(text));
    (void)ignored;
}

static void *first(void *unused) {
    (void)unused;
    void *block = malloc(24);
    free(block);
    worker_tid = (pid_t)syscall(SYS_gettid);
    return NULL;
}

static void *worker(void *unused) {
    (void)unused;
    unsigned long all = ~0UL;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, 8);
    void *volatile holder[8];
    void **block = malloc(64);
    memset(block, 0, 64);
    holder[0] = block;
    handed = (void *volatile *)block;
    worker_tid = (pid_t)syscall(SYS_gettid);
    ready = 1;
    if (churn) {
        void *volatile slots[64] = {0};
        unsigned seed = 12345;
        for (;;) {
            seed = seed * 1103515245u + 12345u;
            unsigned slot = (seed >> 8) % 64;
            size_t size = (seed >> 16) % 8 == 0 ? 16 + (seed >> 4) % (256 * 1024)
                                                : 16 + (seed >> 12) % 2048;
            free(slots[slot]);
            char *fresh = malloc(size);
            fresh[0] = 1;
            slots[slot] = fresh;
        }
    }
    char byte;
    while (read(pipe_fds[0], &byte, 1) != 0) {
    }
    (void)holder[0];
    return NULL;
}

int main(int argc, char **argv) {
    const char *way = argc > 1 ? argv[1] : "chain";
    if (pipe(pipe_fds) != 0) return 1;
    pthread_t thread;
    if (strcmp(way, "reused") == 0) {
        pthread_create(&thread, NULL, first, NULL);
        pthread_join(thread, NULL);
        pid_t ended = worker_tid;
        FILE *last = fopen("/proc/sys/kernel/ns_last_pid", "w");
        if (last == NULL) {
            say("not reused\n");
            return 2;
        }
        fprintf(last, "%d", (int)ended - 1);
        if (fclose(last) != 0) {
            say("not reused\n");
            return 2;
        }
        pthread_create(&thread, NULL, worker, NULL);
        while (!ready) usleep(1000);
        say(worker_tid == ended ? "reused\n" : "not reused\n");
    } else {
        churn = strcmp(way, "churn") == 0;
        pthread_create(&thread, NULL, worker, NULL);
        while (!ready) usleep(1000);
        if (churn) usleep(50000);
    }
    char *payload = malloc(200);
    memset(payload, 0, 200);
    if (strcmp(way, "payloads") == 0) {
        void **link = (void **)payload;
        for (int i = 0; i < 3; i++) {
            void **next = calloc(1, 40);
            *link = next;
            link = next;
        }
    }
    handed[0] = payload;
    payload = NULL;
    if (strcmp(way, "kept") != 0) {
        char *leaked = malloc(16);
        leaked[0] = 1;
        leaked = NULL;
    }
    say("done\n");
    return 0;
}
