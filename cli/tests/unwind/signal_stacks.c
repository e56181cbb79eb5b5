/* Allocations inside a signal handler (SIGPROF from a CPU timer) that interrupts code at many
   places and depths: recursions of random depth, a loop, calls through a function pointer. The
   interrupted code never allocates (malloc is not async-signal-safe); the handler's blocks are
   freed at once. Run under GPA_UNWIND_CHECK=1: each handler trace must go on past the signal
   trampoline into the interrupted frames, as libgcc's does. argv[1]: rounds. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

void *volatile sink;
volatile unsigned long spins, fired;

static void handler(int sig)
{
    (void)sig;
    void *block = malloc(24);
    sink = block;
    free(block);
    fired++;
}

__attribute__((noinline)) static void spin(int n)
{
    for (int i = 0; i < n; i++)
        spins++;
}

__attribute__((noinline)) static int descend(int depth, int n)
{
    if (depth > 0) {
        int more = descend(depth - 1, n) + 1;
        spins += more;
        return more;
    }
    spin(n);
    return 0;
}

static int (*volatile through)(int, int) = descend;

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 20000;
    if (signal(SIGPROF, handler) == SIG_ERR)
        return 1;
    struct itimerval timer = {{0, 100}, {0, 100}};
    setitimer(ITIMER_PROF, &timer, 0);
    unsigned seed = 12345;
    for (long r = 0; r < rounds; r++) {
        seed = seed * 1103515245 + 12345;
        int depth = (seed >> 16) % 9;
        if (seed & 1)
            through(depth, 2000);
        else
            descend(depth, 3000);
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_PROF, &off, 0);
    printf("signal stacks: %ld rounds\n", rounds);
    fprintf(stderr, "fired %lu\n", fired);
    return fired == 0;
}
