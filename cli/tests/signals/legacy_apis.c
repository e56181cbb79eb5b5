/* Installs a SIGSEGV handler through one of the older interfaces (argv[1]: "sigset",
 * "sigvec" or "__sigaction"), checks that the previous disposition was SIG_DFL and that a
 * query returns the new handler, then (argv[2]) dereferences NULL ("null": the handler reports
 * the fault and ends the process with status 3) or reads one byte past the end of a 128-byte
 * block ("overflow": in guard mode a finding of gpa's, reported before any handler). */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct old_sigvec {
    void (*sv_handler)(int);
    int sv_mask;
    int sv_flags;
};
/* glibc keeps sigvec for old binaries only (no default version): bind to that version. */
extern int sigvec(int, const struct old_sigvec *, struct old_sigvec *);
__asm__(".symver sigvec,sigvec@GLIBC_2.2.5");
/* glibc's exported alias of sigaction (not declared in its headers). */
extern int __sigaction(int, const struct sigaction *, struct sigaction *);

static void on_segv(int signal) {
    char line[64];
    int length = snprintf(line, sizeof line, "own handler: signal %d\n", signal);
    write(2, line, length);
    _exit(3);
}

static void install(const char *api) {
    if (strcmp(api, "sigset") == 0) {
        if (sigset(SIGSEGV, on_segv) != SIG_DFL) {
            fprintf(stderr, "sigset: previous disposition is not SIG_DFL\n");
            exit(4);
        }
        if (sigset(SIGSEGV, on_segv) != on_segv) {
            fprintf(stderr, "sigset: does not return the handler just installed\n");
            exit(4);
        }
    } else if (strcmp(api, "sigvec") == 0) {
        struct old_sigvec vector = {on_segv, 0, 0}, old;
        if (sigvec(SIGSEGV, &vector, &old) != 0 || old.sv_handler != SIG_DFL) {
            fprintf(stderr, "sigvec: previous disposition is not SIG_DFL\n");
            exit(4);
        }
        if (sigvec(SIGSEGV, NULL, &old) != 0 || old.sv_handler != on_segv) {
            fprintf(stderr, "sigvec: query does not return the handler just installed\n");
            exit(4);
        }
    } else {
        struct sigaction action, old;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_segv;
        sigemptyset(&action.sa_mask);
        if (__sigaction(SIGSEGV, &action, &old) != 0 || old.sa_handler != SIG_DFL) {
            fprintf(stderr, "__sigaction: previous disposition is not SIG_DFL\n");
            exit(4);
        }
        if (__sigaction(SIGSEGV, NULL, &old) != 0 || old.sa_handler != on_segv) {
            fprintf(stderr, "__sigaction: query does not return the handler just installed\n");
            exit(4);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 3)
        return 2;
    install(argv[1]);
    if (strcmp(argv[2], "overflow") == 0) {
        volatile char *block = malloc(128);
        memset((char *)block, 1, 128);
        printf("%d\n", block[128]);
        free((char *)block);
        return 0;
    }
    volatile int *nothing = NULL;
    return *nothing;
}
