/* A program run as root that gives up root, as su, sudo, login and daemons' workers do
 * (cli/tests/lifecycle.rs). Ways:
 *   fork PROGRAM  fork; the child becomes `nobody` (setgroups, setgid, setuid), leaks 24
 *                 bytes and replaces itself by PROGRAM; the parent waits and leaks nothing.
 *   self          the process becomes `nobody` (setresgid, setresuid) and leaks 32 bytes.
 *   fsuid         the process keeps root but files are created as `nobody` (setfsuid, as
 *                 NFS servers and some daemons do) and leaks 48 bytes.
 * Prints what it did; exits with status 0 (2 when a change of user failed). */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/wait.h>
#include <unistd.h>

enum { NOBODY = 65534 };

static void leak(size_t size) {
    char *volatile lost = malloc(size);
    memset(lost, 7, size);
    lost = NULL;
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "fork") == 0) {
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) {
            if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0) _exit(2);
            leak(24);
            execv(argv[2], argv + 2);
            _exit(127);
        }
        int status = 0;
        waitpid(child, &status, 0);
        printf("child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "self") == 0) {
        if (setgroups(0, NULL) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 ||
            setresuid(NOBODY, NOBODY, NOBODY) != 0)
            return 2;
        leak(32);
        printf("uid %d\n", (int)getuid());
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "fsuid") == 0) {
        setfsgid(NOBODY);
        setfsuid(NOBODY);
        if (setfsuid(-1) != NOBODY) return 2;
        leak(48);
        printf("fsuid %d\n", NOBODY);
        return 0;
    }
    fprintf(stderr, "usage: life_drop_user fork PROGRAM... | self | fsuid\n");
    return 1;
}
