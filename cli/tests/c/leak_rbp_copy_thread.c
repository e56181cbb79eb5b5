/* Leak roots: gpa's own state is no root in a thread still running at exit either, nor is
 * the stale part of a blocked thread's stack. As leak_rbp_copy.c, but a second thread makes
 * the block (the compiler drops the list head, which never escapes) and is blocked in
 * `pause` when `main` returns. Its stack from its stack pointer up and its registers are
 * roots; its copy of gpa's thread-locals (at the top of its stack mapping, in glibc's static
 * TLS) is not, and neither is the red zone below its stack pointer, which holds stale copies
 * of the block from frames that returned (memcheck sees those words as undefined and skips
 * them). Valgrind: 16 bytes in 1 blocks definitely lost, and the thread's DTV (272 bytes)
 * possibly lost. Built with -O2 -fomit-frame-pointer. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct node {
    struct node *next;
    long value;
};

static sem_t built;
static volatile pid_t worker_tid;

__attribute__((noipa)) static void *allocate_holding(void *held) {
    register void *in_rbp asm("rbp") = held;
    asm volatile("" : "+r"(in_rbp));
    void *block = malloc(24);
    asm volatile("" : : "r"(in_rbp));
    return block;
}

__attribute__((noipa)) static long make_and_drop_list(void) {
    struct node *head = malloc(sizeof *head);
    struct node *tail = malloc(sizeof *tail);
    head->next = tail;
    head->value = 1;
    tail->next = NULL;
    tail->value = 2;
    for (int i = 0; i < 3; i++)
        free(allocate_holding(tail));
    return head->value + head->next->value;
}

static void *worker(void *unused) {
    (void)unused;
    long sum = make_and_drop_list();
    worker_tid = gettid();
    sem_post(&built);
    for (;;)
        pause();
    return (void *)sum;
}

int main(void) {
    pthread_t thread;
    sem_init(&built, 0, 0);
    pthread_create(&thread, NULL, worker, NULL);
    sem_wait(&built);
    /* Until the worker waits in `pause` (system call 34). */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)worker_tid);
    for (int tries = 0; tries < 10000; tries++) {
        FILE *file = fopen(path, "r");
        int number = -1;
        if (file) {
            if (fscanf(file, "%d", &number) != 1)
                number = -1;
            fclose(file);
        }
        if (number == 34)
            break;
        usleep(1000);
    }
    puts("done");
    return 0;
}
