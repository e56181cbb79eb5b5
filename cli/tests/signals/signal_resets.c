/* signal() and sysv_signal() for SIGSEGV: signal() returns the previous handler (SIG_DFL
 * first); a sysv_signal handler is reset to SIG_DFL when it runs, so the second fault after
 * it returns takes the default action (status 128 + 11). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile char *page;
static volatile int calls;

static void on_segv(int signal) {
    (void)signal;
    calls++;
    write(2, "sysv handler ran\n", 17);
    /* Returning re-runs the faulting access: the page is still inaccessible. */
}

static void unused(int signal) { (void)signal; }

int main(void) {
    if (signal(SIGSEGV, unused) != SIG_DFL) {
        fprintf(stderr, "signal did not return SIG_DFL first\n");
        return 1;
    }
    if (signal(SIGSEGV, SIG_DFL) != unused) {
        fprintf(stderr, "signal did not return the previous handler\n");
        return 1;
    }
    sysv_signal(SIGSEGV, on_segv);
    page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fprintf(stderr, "faulting\n");
    return page[0];
}
