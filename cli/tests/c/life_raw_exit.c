/* Two threads running (each holding a 32-byte block only on its stack, waiting), main leaks
 * 16 bytes, then argv[1]: "group" ends the process with syscall(SYS_exit_group, 4);
 * "exit" ends only the main thread with syscall(SYS_exit, 0): the other threads go on,
 * the last one calls exit(6) after 200 ms and main's end; "exec PROGRAM" replaces the
 * process with syscall(SYS_execve, PROGRAM, ...). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
/* Whether the main thread has ended (a zombie, 'Z', or gone), from its /proc stat line:
 * read without stdio, so nothing is allocated. */
static int main_ended(void) {
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 1;
    ssize_t got = read(fd, line, sizeof line - 1);
    close(fd);
    if (got <= 0) return 1;
    line[got] = 0;
    char *end = strrchr(line, ')');
    return !end || end[1] == 0 || end[2] == 'Z' || end[2] == 'X';
}
static void *worker(void *arg) {
    volatile char *held = malloc(32);
    memset((char *)held, 9, 32);
    if (arg) {
        /* 200 ms, and on a loaded machine until main has really ended ("exit"): the exit
         * report must find main ended, not stopped before its raw exit. */
        usleep(200000);
        while (!main_ended()) usleep(10000);
        printf("worker exits\n");
        fflush(stdout);
        exit(6);
    }
    for (;;) pause();
    return (void *)held;
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_create(&t, NULL, worker, (void *)1);
    usleep(50000);
    char *lost = malloc(16);
    memset(lost, 1, 16);
    lost = NULL;
    printf("main ends\n");
    fflush(stdout);
    if (!strcmp(argv[1], "group")) syscall(SYS_exit_group, 4);
    else if (!strcmp(argv[1], "exec") && argc > 2) {
        char *args[] = {argv[2], NULL};
        extern char **environ;
        syscall(SYS_execve, argv[2], args, environ);
    } else syscall(SYS_exit, 0);
    return 1;
}
