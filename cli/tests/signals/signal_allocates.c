// Signal handlers that run while the program is inside malloc or free (gpa's
// os::signal::defer). Natively a handler that allocates is not async-signal-safe; Valgrind
// runs handlers only between the program's instructions, so its verdict is clean.
//
//   signal_allocates timer ITERATIONS INTERVAL_US
//     A SIGALRM every INTERVAL_US microseconds; its handler frees and allocates (a ring of
//     64 blocks) while main allocates and frees in a loop. Prints "handled" when at least
//     one signal ran its handler. Everything is freed at the end.
//   signal_allocates queue COUNT
//     Another thread queues COUNT real-time signals to main with values 1..COUNT
//     (pthread_sigqueue) while main allocates and frees; the handler checks that each came
//     as sent (si_code SI_QUEUE, its value) and sums the values. Prints the count, the sum
//     and the number of signals that arrived changed.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static volatile unsigned long handled;
static void *ring[64];

static void on_alarm(int sig) {
    (void)sig;
    unsigned i = handled++ % 64;
    free(ring[i]);
    ring[i] = malloc(16 + handled % 200);
    if (ring[i]) memset(ring[i], 1, 16);
}

static volatile long received, sum, changed;
static int queued_signal;

static void on_queued(int sig, siginfo_t *info, void *context) {
    (void)context;
    if (sig != queued_signal || info->si_code != SI_QUEUE || info->si_value.sival_int <= 0)
        changed++;
    sum += info->si_value.sival_int;
    received++;
}

static pthread_t main_thread;
static long to_send;

static void *sender(void *unused) {
    (void)unused;
    for (long value = 1; value <= to_send; value++) {
        union sigval v = {.sival_int = (int)value};
        while (pthread_sigqueue(main_thread, queued_signal, v) != 0) sched_yield();
    }
    return NULL;
}

static void churn(void **slots, long i) {
    unsigned s = (unsigned)(i * 2654435761u) % 256;
    free(slots[s]);
    slots[s] = malloc(8 + (i % 500));
    if (slots[s]) ((char *)slots[s])[0] = 1;
}

int main(int argc, char **argv) {
    void *slots[256] = {0};
    if (argc == 4 && strcmp(argv[1], "timer") == 0) {
        long n = atol(argv[2]);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGALRM, &sa, 0);
        struct itimerval it = {{0, atol(argv[3])}, {0, atol(argv[3])}};
        setitimer(ITIMER_REAL, &it, 0);
        for (long i = 0; i < n || handled == 0; i++) churn(slots, i);
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, 0);
        // One may be pending still: it stays so, the ring freed without it.
        sigset_t alarm;
        sigemptyset(&alarm);
        sigaddset(&alarm, SIGALRM);
        sigprocmask(SIG_BLOCK, &alarm, 0);
        for (int s = 0; s < 64; s++) free(ring[s]);
        printf("handled\n");
    } else if (argc == 3 && strcmp(argv[1], "queue") == 0) {
        to_send = atol(argv[2]);
        queued_signal = SIGRTMIN + 1;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_queued;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigaction(queued_signal, &sa, 0);
        main_thread = pthread_self();
        pthread_t thread;
        pthread_create(&thread, NULL, sender, NULL);
        for (long i = 0; received < to_send; i++) churn(slots, i);
        pthread_join(thread, NULL);
        printf("received %ld sum %ld changed %ld\n", received, sum, changed);
    } else {
        fprintf(stderr, "usage: signal_allocates timer ITERATIONS INTERVAL_US | queue COUNT\n");
        return 2;
    }
    for (int s = 0; s < 256; s++) free(slots[s]);
    return 0;
}
