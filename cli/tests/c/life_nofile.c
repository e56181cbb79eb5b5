/* Lowers RLIMIT_NOFILE to argv[1] (3 to 5) with stdio open: the soft limit only, or with
 * argv[2] "hard" the hard limit too (argv[2] "prlimit": both, by `prlimit` on itself;
 * "syscall" and "syscall_setrlimit": both, by `syscall(SYS_prlimit64)`, `SYS_setrlimit`;
 * argv[3] "fork": then a child is forked that loses 20 bytes and exits 0); then
 * checks that the descriptors below the limit are the program's as natively (an `open`
 * fails with EMFILE once the limit is reached), leaks 48 bytes and exits 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = argc > 1 ? atoi(argv[1]) : 3;
    const char *how = argc > 2 ? argv[2] : "soft";
    if (strcmp(how, "soft")) limit.rlim_max = limit.rlim_cur;
    long set = !strcmp(how, "prlimit")            ? prlimit(0, RLIMIT_NOFILE, &limit, NULL)
               : !strcmp(how, "syscall")          ? syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &limit, NULL)
               : !strcmp(how, "syscall_setrlimit") ? syscall(SYS_setrlimit, RLIMIT_NOFILE, &limit)
                                                  : setrlimit(RLIMIT_NOFILE, &limit);
    if (set != 0) {
        perror("setrlimit");
        return 1;
    }
    if (argc > 3 && !strcmp(argv[3], "fork")) {
        /* A child forked under the limit: 20 bytes lost, then exit. */
        pid_t child = fork();
        if (child == 0) {
            char *its = malloc(20);
            memset(its, 2, 20);
            its = NULL;
            exit(0);
        }
        int status = 0;
        waitpid(child, &status, 0);
        printf("child %d\n", WEXITSTATUS(status));
    }
    int opened = 0;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) {
            if (errno != EMFILE) { perror("open"); return 1; }
            break;
        }
        opened++;
    }
    printf("opened %d below the limit\n", opened);
    char *lost = malloc(48);
    memset(lost, 5, 48);
    lost = NULL;
    printf("limit %ld\n", (long)limit.rlim_cur);
    return 0;
}
