/* A daemon the classic way: fork, setsid, fork again, chdir("/"), close every descriptor
 * (argv[1]: "loop" closes 0..1023 one by one, "range" uses close_range(0, ~0U, 0),
 * "closefrom" closefrom(0)), reopen /dev/null on 0, 1 and 2, then leak 100 bytes and exit.
 * The parent and the middle child exit at once (status 0); the daemon writes "daemon done"
 * to the file argv[2] (an absolute path) so the caller can wait for it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *way = argv[1];
    const char *done = argv[2];
    printf("parent starts\n");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid > 0) return 0;
    setsid();
    pid = fork();
    if (pid < 0) _exit(1);
    if (pid > 0) exit(0);
    if (chdir("/") != 0) _exit(1);
    umask(0);
    if (!strcmp(way, "loop")) {
        for (int fd = 0; fd < 1024; fd++) close(fd);
    } else if (!strcmp(way, "range")) {
        syscall(SYS_close_range, 0U, ~0U, 0);
    } else {
        closefrom(0);
    }
    open("/dev/null", O_RDWR);
    dup(0);
    dup(0);
    char *lost = malloc(100);
    memset(lost, 2, 100);
    lost = NULL;
    printf("daemon to /dev/null\n");
    int fd = open(done, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        write(fd, "daemon done\n", 12);
        close(fd);
    }
    return 0;
}
