/* Two threads running (each holding a 32-byte block only on its stack, waiting), main leaks
 * 16 bytes, then argv[1]: "group" ends the process with syscall(SYS_exit_group, 4);
 * "exit" ends only the main thread with syscall(SYS_exit, 0): the other threads go on,
 * the last one calls exit(6) after 200 ms; "exec PROGRAM" replaces the process with
 * syscall(SYS_execve, PROGRAM, ...). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static void *worker(void *arg) {
    volatile char *held = malloc(32);
    memset((char *)held, 9, 32);
    if (arg) {
        usleep(200000);
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
