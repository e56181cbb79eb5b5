/* Installs a SIGSEGV handler (SA_SIGINFO) only when the disposition is still SIG_DFL, as
 * Rust's std and many runtimes do, then dereferences NULL: the handler reports the fault
 * address and ends the process with status 3. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_segv(int signal, siginfo_t *info, void *context) {
    (void)context;
    char line[64];
    int length = snprintf(line, sizeof line, "own handler: signal %d at %p\n", signal,
                          info->si_addr);
    write(2, line, length);
    _exit(3);
}

int main(void) {
    struct sigaction old;
    if (sigaction(SIGSEGV, NULL, &old) != 0)
        return 1;
    if (old.sa_handler != SIG_DFL) {
        fprintf(stderr, "SIGSEGV already handled: not installing\n");
        return 2;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, NULL);
    struct sigaction now;
    sigaction(SIGSEGV, NULL, &now);
    if (now.sa_sigaction != on_segv || !(now.sa_flags & SA_SIGINFO)) {
        fprintf(stderr, "query does not return the handler just installed\n");
        return 4;
    }
    volatile int *nothing = NULL;
    return *nothing;
}
