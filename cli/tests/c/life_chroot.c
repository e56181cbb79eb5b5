/* A program run as root that changes its root directory, as privilege-separated daemons
 * (sshd's child in /run/sshd, vsftpd, named -t) and build sandboxes do
 * (cli/tests/lifecycle.rs). Ways, each into the empty directory JAIL:
 *   self JAIL   chroot, then leak 56 bytes (allocated in lost_in_jail).
 *   fork JAIL   chroot, fork: the child leaks 24 bytes and exits, the parent waits and
 *               leaks 8.
 *   drop JAIL   chroot, then become `nobody` (as sshd's child does), then leak 40 bytes.
 * Prints what it did; exits with status 0 (2 when a step failed). */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { NOBODY = 65534 };

__attribute__((noinline)) static void lost_in_jail(size_t size) {
    char *volatile lost = malloc(size);
    memset(lost, 7, size);
    lost = NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: life_chroot self|fork|drop JAIL\n");
        return 1;
    }
    if (chroot(argv[2]) != 0 || chdir("/") != 0) return 2;
    if (strcmp(argv[1], "self") == 0) {
        lost_in_jail(56);
    } else if (strcmp(argv[1], "fork") == 0) {
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            lost_in_jail(24);
            _exit(0);
        }
        int status = 0;
        waitpid(child, &status, 0);
        lost_in_jail(8);
    } else if (strcmp(argv[1], "drop") == 0) {
        if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0) return 2;
        lost_in_jail(40);
    } else {
        return 1;
    }
    printf("%s in jail\n", argv[1]);
    return 0;
}
