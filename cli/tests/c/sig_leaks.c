/* Processes ended by a signal's default action get a leak check, as under Valgrind.
 * One block of 33 bytes is lost, one of 100 stays reachable from a global; then
 * argv[1] says how the process ends:
 *   pipe     writes to stdout until SIGPIPE (the reader has gone)
 *   term     raise(SIGTERM)
 *   pause    says "ready <pid>" on stdout and waits for a signal from outside
 *   abort    abort()
 *   segv     a NULL write in the program's code
 *   alarm    alarm(1), then waits
 *   handler  a SIGTERM handler of its own that calls exit(3), then raise(SIGTERM)
 *   ignore   SIGPIPE ignored: a write to a closed pipe gets EPIPE; exits normally
 *   query    sigaction queries for the signals gpa handles say SIG_DFL (status 0)
 *   inherit  SIGPIPE ignored, then execs itself as "child", which must see SIG_IGN
 *   child    status 0 when SIGPIPE is ignored */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *keep;

static void on_term(int signal) {
    (void)signal;
    exit(3);
}

static int is_default(int signal) {
    struct sigaction old;
    if (sigaction(signal, NULL, &old) != 0)
        return 0;
    return old.sa_handler == SIG_DFL;
}

/* "ready <pid>\n" on stdout, without stdio (whose buffer would be one more block). */
static void say_ready(void) {
    char line[32] = "ready ";
    char digits[16];
    int count = 0, at = 6;
    for (int pid = (int)getpid(); pid > 0; pid /= 10)
        digits[count++] = (char)('0' + pid % 10);
    while (count > 0)
        line[at++] = digits[--count];
    line[at++] = '\n';
    write(1, line, at);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    char *lost = malloc(33);
    strcpy(lost, "lost");
    lost = NULL;
    keep = malloc(100);
    char buffer[4096];
    memset(buffer, 'a', sizeof buffer);
    if (!strcmp(mode, "pipe")) {
        for (;;)
            write(1, buffer, sizeof buffer);
    } else if (!strcmp(mode, "term")) {
        raise(SIGTERM);
    } else if (!strcmp(mode, "pause")) {
        say_ready();
        for (;;)
            pause();
    } else if (!strcmp(mode, "abort")) {
        abort();
    } else if (!strcmp(mode, "segv")) {
        *(volatile int *)0 = 1;
    } else if (!strcmp(mode, "alarm")) {
        alarm(1);
        for (;;)
            pause();
    } else if (!strcmp(mode, "handler")) {
        signal(SIGTERM, on_term);
        raise(SIGTERM);
    } else if (!strcmp(mode, "ignore")) {
        signal(SIGPIPE, SIG_IGN);
        int fds[2];
        pipe(fds);
        close(fds[0]);
        if (write(fds[1], buffer, 10) < 0 && errno == EPIPE)
            fprintf(stderr, "EPIPE\n");
        return 0;
    } else if (!strcmp(mode, "query")) {
        int signals[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGALRM, SIGUSR1, SIGQUIT,
                         SIGSEGV, SIGABRT, SIGRTMIN + 1};
        for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
            if (!is_default(signals[i])) {
                fprintf(stderr, "signal %d: not SIG_DFL\n", signals[i]);
                return 1;
            }
        }
        return 0;
    } else if (!strcmp(mode, "inherit")) {
        signal(SIGPIPE, SIG_IGN);
        execl(argv[0], argv[0], "child", (char *)NULL);
        return 2;
    } else if (!strcmp(mode, "child")) {
        struct sigaction old;
        sigaction(SIGPIPE, NULL, &old);
        return old.sa_handler == SIG_IGN ? 0 : 1;
    }
    return 0;
}
