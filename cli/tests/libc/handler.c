/* A SIGALRM handler that makes an out-of-bounds memcpy, firing every 20 microseconds while the
 * main thread makes out-of-bounds memcpy calls of its own over 1000 blocks (each a finding gpa
 * records, so that recording takes a while and the handler often interrupts it): gpa must
 * never wait for itself (cli/tests/libc_calls.rs). Prints "done" at the end. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define BLOCKS 1000

static volatile size_t eight = 8;
static char *in_handler;
static volatile unsigned long handled;

static size_t n(size_t value) { return value + eight - 8; }

static void on_alarm(int signal) {
    char stack[32];
    (void)signal;
    memcpy(stack, in_handler, n(24)); /* @handler: 8 bytes past a 16-byte block */
    handled++;
}

int main(void) {
    static char *blocks[BLOCKS];
    char out[32];
    in_handler = malloc(16); /* @handler_alloc */
    memset(in_handler, 'h', 16);
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = malloc(16); /* @main_alloc */
        memset(blocks[i], 'm', 16);
    }
    signal(SIGALRM, on_alarm);
    struct itimerval every = {{0, 20}, {0, 20}};
    setitimer(ITIMER_REAL, &every, NULL);
    for (int round = 0; round < 10000; round++)
        memcpy(out, blocks[round % BLOCKS], n(24)); /* @main: 8 bytes past each block */
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_IGN); /* an alarm still pending is discarded */
    for (int i = 0; i < BLOCKS; i++)
        free(blocks[i]);
    free(in_handler);
    printf("done\n");
    fprintf(stderr, "handled %lu\n", handled);
    return 0;
}
