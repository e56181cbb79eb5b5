/* https://github.com/TrinityCore/TrinityCore/pull/10718
 * CliRunnable::run(): the command-line thread gets each line from readline() (malloc'd) and
 * never frees it; at exit the thread is still running, blocked waiting for input. Here the
 * lines come from getline() with a fresh buffer each time. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fds[2];
static volatile int handled;

static char *read_command(FILE *in) {
    char *line = NULL;
    size_t n = 0;
    if (getline(&line, &n, in) == -1) {
        free(line);
        return NULL;
    }
    return line;
}

static void *cli_run(void *arg) {
    FILE *in = fdopen(fds[0], "r");
    setvbuf(in, NULL, _IONBF, 0);
    for (;;) {
        char *command = read_command(in);
        if (!command)
            break;
        handled++; /* the bug: command is not freed */
        command = NULL;
    }
    return arg;
}

int main(void) {
    pthread_t t;
    pipe(fds);
    pthread_create(&t, NULL, cli_run, NULL);
    write(fds[1], "server info\naccount create\n", 27);
    while (handled < 2)
        usleep(1000);
    printf("%d\n", handled);
    return 0; /* the thread is still blocked in read */
}
