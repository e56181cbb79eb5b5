/* spawn_rss: runs a program and reports its wall time and peak resident set size, for
 * gpa-cbench (bench/src/cbench). Built statically where the C library allows, so that this
 * process is small: a process's peak RSS as the kernel reports it (`ru_maxrss`) includes the
 * memory of the process it was forked from, and the benchmark harness itself is several MiB.
 *
 *     spawn_rss RESULT_FILE PROGRAM [ARGS...]
 *
 * writes "<peak RSS in KiB> <wall seconds> <exit status>" to RESULT_FILE and exits 0 (the
 * program's own status is in the file; 128 + signal number when a signal ended it). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: spawn_rss RESULT_FILE PROGRAM [ARGS...]\n");
        return 2;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t child = fork();
    if (child < 0) {
        perror("spawn_rss: fork");
        return 2;
    }
    if (child == 0) {
        execvp(argv[2], argv + 2);
        perror("spawn_rss: exec");
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    while (wait4(child, &status, 0, &usage) < 0) {
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *out = fopen(argv[1], "w");
    if (out == NULL) {
        perror("spawn_rss: result file");
        return 2;
    }
    fprintf(out, "%ld %.6f %d\n", usage.ru_maxrss, seconds, code);
    fclose(out);
    return 0;
}
