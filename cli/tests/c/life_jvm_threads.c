/* Threads still running at exit that hold blocks the ways a JVM's threads do (`java -version`,
 * docs/sweeps/lifecycle.md item 10). Two threads each build, then block in `read` on a pipe
 * nobody writes while main drops 16 bytes and returns:
 *   - a thread object reached only through a `__thread` variable (HotSpot's Thread::current):
 *     still reachable, and through it
 *   - a block allocated with posix_memalign(64): still reachable (start pointer);
 *   - a 632-byte block whose only pointer is to a 64-byte boundary inside it (HotSpot's
 *     OopStorage::Block is placed so; here always past its first byte): possibly lost;
 *   - a 2,064-byte queue node whose only pointer is to its buffer, 16 bytes in (G1's
 *     BufferNode, held by the thread's PtrQueue): possibly lost;
 *   - a list of two such nodes through their starts: still reachable;
 *   - on the blocked thread's own stack: a 40-byte block's start (still reachable) and a
 *     pointer 8 bytes into a 48-byte block (possibly lost).
 * With `spin` the threads spin in their own code instead of blocking in a system call (their
 * stacks are then scanned with the red zone below the stack pointer).
 * Each running thread's DTV is possibly lost too (glibc's, 16 bytes larger under gpa).
 * Valgrind 3.19, both ways: definitely lost 16 bytes in 1 block; possibly lost 6,064 bytes in
 * 8 blocks (2 x (2,064 + 632 + 48 + the DTV's 288)); still reachable 9,728 bytes in 10 blocks
 * (2 x (64 + 632 + 2 x 2,064 + 40)). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct node {
    size_t index;
    struct node *next;
    char buffer[2048];
};

struct worker {
    char *queue_buffer;       /* interior: &node->buffer */
    void *storage;            /* interior: a 64-byte boundary inside a 632-byte block */
    void *aligned;            /* start of a posix_memalign(64) block */
    struct node *completed;   /* start of a list of two nodes */
    char padding[32];
};

static __thread struct worker *current;
static pthread_barrier_t ready;
static int never[2];
static int spin;
static volatile int stop;

static struct node *new_node(struct node *next) {
    struct node *node = calloc(1, sizeof *node);
    node->next = next;
    return node;
}

static __attribute__((noinline)) void set_up(void) {
    struct worker *worker = calloc(1, sizeof *worker);
    worker->queue_buffer = new_node(NULL)->buffer;
    char *raw = calloc(1, 632);
    worker->storage = (void *)(((uintptr_t)raw + 64) & ~(uintptr_t)63);
    if (posix_memalign(&worker->aligned, 64, 632) != 0) abort();
    worker->completed = new_node(new_node(NULL));
    current = worker;
}

/* Overwrites the dead frames below the caller's, so that no stale copy of set_up's
 * pointers stays where the blocked thread's frames will lie. */
static __attribute__((noinline)) void scrub(void) {
    volatile char area[4096];
    memset((char *)area, 0, sizeof area);
}

static void *body(void *arg) {
    (void)arg;
    void *volatile held = malloc(40);
    char *volatile inner = (char *)calloc(1, 48) + 8;
    set_up();
    scrub();
    pthread_barrier_wait(&ready);
    char byte;
    if (spin)
        while (!stop) {
        }
    else if (read(never[0], &byte, 1) < 0)
        perror("read");
    return current == NULL ? (void *)held : (void *)inner;
}

int main(int argc, char **argv) {
    spin = argc > 1 && strcmp(argv[1], "spin") == 0;
    if (pipe(never) != 0) return 1;
    pthread_barrier_init(&ready, NULL, 3);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, body, NULL);
    pthread_barrier_wait(&ready);
    usleep(200 * 1000);
    char *dropped = malloc(16);
    memset(dropped, 7, 16);
    dropped = NULL;
    puts("threads blocked");
    return 0;
}
