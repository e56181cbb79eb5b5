/* Heap blocks handed to sigaction, sigprocmask and pthread_sigmask after free (`freed`) or
 * too short for what glibc and the kernel read or write (`fresh`), one call a line, and the
 * same calls with valid blocks (`ok`), which must stay clean. glibc's `__libc_sigaction`
 * copies `act` (its handler, its 128-byte mask and its flags: bytes 0 to 139) in user code
 * and writes `oldact` back the same way (plus the restorer, bytes 144 to 151); the kernel
 * reads 8 bytes of a signal set and writes 8 of the old one. Valgrind 3.19's verdicts are in
 * cli/tests/vg_sweep2.rs. SIGKILL's action cannot be changed (EINVAL after the copy), and
 * SIGUSR2's handler is a valid one. Built with gcc -O0 -g. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void *fresh(size_t n) {
    return memset(malloc(n), 0, n);
}

static void *freed(size_t n) {
    void *p = fresh(n);
    free(p);
    return p;
}

static void on_usr2(int signal) {
    (void)signal;
}

/* A valid action for SIGUSR2 in a block of `n` bytes (at least 152). */
static struct sigaction *action(size_t n) {
    struct sigaction *a = fresh(n);
    a->sa_handler = on_usr2;
    return a;
}

int main(int argc, char **argv) {
    (void)argv;
    if (argc > 1) {
        /* ok: valid blocks of exactly the size, NULL where allowed. */
        sigaction(SIGUSR2, action(sizeof(struct sigaction)), fresh(sizeof(struct sigaction)));
        sigaction(SIGUSR2, NULL, fresh(sizeof(struct sigaction)));
        sigprocmask(SIG_BLOCK, fresh(sizeof(sigset_t)), fresh(sizeof(sigset_t)));
        sigprocmask(SIG_SETMASK, NULL, fresh(8));
        pthread_sigmask(SIG_UNBLOCK, fresh(8), NULL);
        return 0;
    }
    sigaction(SIGKILL, freed(sizeof(struct sigaction)), NULL);
    sigaction(SIGKILL, fresh(100), NULL);
    sigaction(SIGUSR2, NULL, freed(sizeof(struct sigaction)));
    sigaction(SIGUSR2, NULL, fresh(140));
    sigprocmask(SIG_BLOCK, fresh(4), NULL);
    sigprocmask(SIG_BLOCK, NULL, freed(8));
    pthread_sigmask(SIG_BLOCK, freed(sizeof(sigset_t)), NULL);
    pthread_sigmask(SIG_BLOCK, NULL, fresh(4));
    return 0;
}
