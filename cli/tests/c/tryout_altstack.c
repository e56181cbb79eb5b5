/* What LLVM's `InitLLVM` does (llvm/lib/Support/Unix/Signals.inc, CreateSigAltStackIfNeeded),
 * seen under `gpa run -- llc-14`: give the main thread an alternate signal stack from malloc
 * only if the thread has none, keep the pointer in a static so that leak checkers see the
 * block, and run a SA_ONSTACK handler on it. Natively and under Valgrind the thread starts
 * without one: the program allocates its stack, and the block is still reachable at exit
 * (Valgrind 3.19: 67,584 bytes in 1 blocks still reachable). gpa's own alternate stack (for
 * its fault handler) must stay invisible: the program sees "none" and makes its own. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *alt_stack; /* kept, as LLVM keeps NewAltStackPointer */
static size_t alt_size;
static volatile int on_alt_stack = -1;

static const char *state(const stack_t *s) {
    return (s->ss_flags & SS_DISABLE) ? "none" : "installed";
}

static void handler(int sig) {
    char here;
    (void)sig;
    on_alt_stack = alt_stack && &here >= alt_stack && &here < alt_stack + alt_size;
}

int main(void) {
    free(malloc(16)); /* the heap in use before the program asks */
    stack_t old;
    if (sigaltstack(NULL, &old) != 0)
        return 1;
    printf("at start: %s\n", state(&old));
    if (old.ss_flags & SS_DISABLE) {
        alt_size = 2048 + 64 * 1024;
        alt_stack = malloc(alt_size);
        stack_t mine = {.ss_sp = alt_stack, .ss_size = alt_size, .ss_flags = 0};
        stack_t before;
        if (sigaltstack(&mine, &before) != 0)
            return 2;
        printf("before installing: %s\n", state(&before));
    }
    stack_t now;
    if (sigaltstack(NULL, &now) != 0)
        return 3;
    printf("now: %s, the program's: %d\n", state(&now), (char *)now.ss_sp == alt_stack);

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    action.sa_flags = SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
    raise(SIGUSR1);
    printf("handler on the program's alternate stack: %d\n", on_alt_stack);

    stack_t off = {.ss_flags = SS_DISABLE};
    if (sigaltstack(&off, NULL) != 0)
        return 4;
    if (sigaltstack(NULL, &now) != 0)
        return 5;
    printf("after disabling: %s\n", state(&now));
    /* A second program stack after the first was disabled. */
    static char second[2048 + 64 * 1024];
    stack_t again = {.ss_sp = second, .ss_size = sizeof second, .ss_flags = 0};
    if (sigaltstack(&again, &old) != 0)
        return 6;
    printf("before the second: %s\n", state(&old));
    return 0;
}
