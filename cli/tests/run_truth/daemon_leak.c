/* A program that becomes a daemon: glibc's daemon() forks and ends the parent with its
 * internal _exit, which gpa's _exit never saw: the program itself ended unreported ("not
 * checked", gpa run exit 77) and its 40 lost bytes went unreported. Valgrind 3.19
 * (--trace-children=yes): the parent 40 bytes definitely lost, the daemon 64 bytes in 2
 * blocks (the inherited 40 and its own 24). argv[1]: a file the daemon writes what it sees
 * (its working directory, whether descriptor 0 is a character device); argv[2] "close":
 * daemon(0, 0) (chdir to / and /dev/null on 0, 1, 2), else daemon(1, 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((noinline)) static void lose(size_t size) {
    char *volatile block = malloc(size);
    memset(block, 1, size);
    block = NULL;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    int close_all = argc > 2 && strcmp(argv[2], "close") == 0;
    lose(40);
    if (daemon(!close_all, !close_all) != 0) {
        perror("daemon");
        return 1;
    }
    lose(24);
    char cwd[4096];
    struct stat status;
    FILE *out = fopen(argv[1], "w");
    if (out == NULL)
        return 1;
    fprintf(out, "cwd %s, stdin %s, session leader %d\n", getcwd(cwd, sizeof cwd) ? cwd : "?",
            fstat(0, &status) == 0 && S_ISCHR(status.st_mode) ? "a character device" : "other",
            getsid(0) == getpid());
    fclose(out);
    return 0;
}
