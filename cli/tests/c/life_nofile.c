/* Lowers RLIMIT_NOFILE to argv[1] (3 to 5) with stdio open, leaks 48 bytes and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
int main(int argc, char **argv) {
    struct rlimit limit;
    limit.rlim_cur = limit.rlim_max = argc > 1 ? atoi(argv[1]) : 3;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) { perror("setrlimit"); return 1; }
    char *lost = malloc(48);
    memset(lost, 5, 48);
    lost = NULL;
    printf("limit %ld\n", (long)limit.rlim_cur);
    return 0;
}
