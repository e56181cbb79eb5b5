/* Small stacks: a SIGUSR1 handler on an alternate signal stack of SIGSTKSZ bytes (8 KiB), or
 * argv[1] bytes, from the program's heap, that calls malloc and free, as programs do. The
 * handler writes one byte past a 20-byte block (a heap overflow) on its first run and drops a
 * 40-byte block (a leak) on its second. gpa knows nothing of this stack. Valgrind: 1 error
 * (invalid write of size 1, 0 bytes after a block of size 20), definitely lost 40 bytes in 1
 * block. (argv[1] "min" asks for MINSIGSTKSZ, 2 KiB: natively the handler overflows it on
 * this machine, whose kernel needs more, AT_MINSIGSTKSZ 3376 bytes with AVX-512, for the
 * signal frame alone; not tested.) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int runs;
static void *volatile sink;

static void handler(int signal) {
    (void)signal;
    for (int i = 0; i < 20; i++) {
        char *block = malloc(24 + (size_t)i * 24);
        memset(block, i, 24);
        free(block);
    }
    if (runs == 0) {
        char *small = malloc(20);
        memset(small, 'a', 20);
        small[20] = 'x'; /* one byte past the end (in glibc's slack) */
        free(small);
    } else if (runs == 1) {
        char *dropped = malloc(40);
        memset(dropped, 'b', 40);
        sink = dropped;
        sink = NULL;
    }
    runs++;
}

int main(int argc, char **argv) {
    size_t size = argc < 2                      ? SIGSTKSZ
                  : strcmp(argv[1], "min") == 0 ? MINSIGSTKSZ
                                                : strtoul(argv[1], NULL, 0);
    stack_t stack = {.ss_sp = malloc(size), .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&stack, NULL) != 0) {
        perror("sigaltstack");
        return 2;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    action.sa_flags = SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
    for (int i = 0; i < 3; i++) raise(SIGUSR1);
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    free(stack.ss_sp);
    printf("handler ran %d times on a %zu-byte stack\n", runs, size);
    return runs == 3 ? 0 : 1;
}
