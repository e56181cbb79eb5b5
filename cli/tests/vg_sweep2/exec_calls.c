/* Heap blocks handed to the exec calls after free (`freed`) or without their terminator,
 * one call a line; each exec fails (its program does not exist, or is not executable), so
 * the program goes on; Valgrind checks an exec's parameters before the system call whatever
 * its outcome (cli/tests/vg_sweep2.rs holds its verdicts). With an argument, the same calls
 * with valid blocks, which must stay clean. Built with gcc -O0 -g. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *text(const char *s) {
    return strcpy(malloc(strlen(s) + 1), s);
}

static char *freed_text(const char *s) {
    char *p = text(s);
    free(p);
    return p;
}

/* `count` strings and a NULL in a heap array. */
static char **array(int count, char *first, char *second) {
    char **a = malloc((count + 1) * sizeof *a);
    a[0] = first;
    if (count > 1) a[1] = second;
    a[count] = NULL;
    return a;
}

static const char *missing = "/nonexistent/gpa-exec-check";

int main(int argc, char **argv) {
    (void)argv;
    char *env_ok[] = {"A=1", NULL};
    if (argc > 1) {
        execve(text(missing), array(2, text("prog"), text("arg")), array(1, text("B=2"), 0));
        execv(missing, array(1, text("prog"), 0));
        execvp("gpa-no-such-program", array(1, text("prog"), 0));
        execvpe(text("gpa-no-such-program"), array(1, text("prog"), 0), env_ok);
        return 0;
    }
    execve(freed_text(missing), array(1, text("prog"), 0), env_ok);
    char **gone = array(1, text("prog"), 0);
    free(gone);
    execve(missing, gone, env_ok);
    execve(missing, array(2, text("prog"), freed_text("arg")), env_ok);
    char *unterminated = malloc(4);
    memcpy(unterminated, "B=22", 4);
    execve(missing, array(1, text("prog"), 0), array(1, unterminated, 0));
    char **short_array = malloc(2 * sizeof *short_array);
    short_array[0] = text("prog");
    short_array[1] = text("arg");
    execv(missing, short_array);
    execvp(freed_text("gpa-no-such-program"), array(1, text("prog"), 0));
    return 0;
}
