/* After Dr. Memory's tests/signal.c (DynamoRIO/drmemory): a virtual-time itimer firing while
 * the program computes, an alternate signal stack in a malloc'd block (freed after
 * SS_DISABLE), SIGUSR2 ignored, SIGUSR1 handled, a SIGSEGV at address 4 handled (longjmp
 * out) and one sent by kill. Written for gpa; no upstream code. */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static sigjmp_buf env;
static volatile int timer_hits, usr1, segv;

static void handler(int sig, siginfo_t *info, void *uc) {
    (void)info;
    (void)uc;
    if (sig == SIGVTALRM)
        timer_hits++;
    else if (sig == SIGUSR1)
        usr1++;
    else if (sig == SIGSEGV) {
        segv++;
        siglongjmp(env, 1);
    }
}

static void intercept(int sig) {
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = handler;
    sigemptyset(&act.sa_mask);
    act.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(sig, &act, NULL);
}

int main(void) {
    struct itimerval t = {{0, 10000}, {0, 10000}};
    intercept(SIGVTALRM);
    setitimer(ITIMER_VIRTUAL, &t, NULL);
    stack_t ss;
    ss.ss_sp = malloc(SIGSTKSZ * 4);
    ss.ss_size = SIGSTKSZ * 4;
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
    intercept(SIGSEGV);
    intercept(SIGUSR1);
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    raise(SIGUSR1);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    free(ss.ss_sp);
    if (sigsetjmp(env, 1) == 0)
        *(volatile int *)4 = 4;
    if (sigsetjmp(env, 1) == 0)
        raise(SIGSEGV);
    volatile double res = 0;
    for (int i = 0; i < 30000000 && timer_hits < 3; i++)
        res += (i % 2) ? sin(1. / (i + 1)) : cos(1. / (i + 1));
    memset(&t, 0, sizeof t);
    setitimer(ITIMER_VIRTUAL, &t, NULL);
    printf("usr1 %d, segv %d, timer hits: %s\n", usr1, segv, timer_hits ? "some" : "none");
    return 0;
}
