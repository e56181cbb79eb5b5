/* Lowers RLIMIT_NOFILE to argv[1] (3 to 5) with stdio open: the soft limit only, or with
 * argv[2] "hard" the hard limit too; then leaks 48 bytes and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
int main(int argc, char **argv) {
    struct rlimit limit;
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = argc > 1 ? atoi(argv[1]) : 3;
    if (argc > 2 && !strcmp(argv[2], "hard")) limit.rlim_max = limit.rlim_cur;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) { perror("setrlimit"); return 1; }
    char *lost = malloc(48);
    memset(lost, 5, 48);
    lost = NULL;
    printf("limit %ld\n", (long)limit.rlim_cur);
    return 0;
}
