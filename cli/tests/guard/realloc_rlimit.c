/* A program that caps its own address space (setrlimit(RLIMIT_AS) at what it uses now plus
   64 MiB, read from /proc/self/statm) and then expects requests beyond the cap to fail, the
   old block kept (as LLVM's realloc_failure_keeps_original.cpp does): realloc of a 100-byte
   block to 512 MiB, malloc and calloc of 512 MiB, then a malloc of 1 MiB that fits.
   Natively, under Valgrind 3.19 and in gpa's check mode: "realloc: null, kept: yes",
   "malloc: null", "calloc: null", "small: ok", no error, "100 bytes in 1 blocks are
   definitely lost" (Valgrind: the 100-byte block kept, the 1 MiB block freed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void *volatile sink;

int main(void) {
    char *block = malloc(100);
    memset(block, 7, 100);
    long pages = 0;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (!statm || fscanf(statm, "%ld", &pages) != 1) return 2;
    fclose(statm);
    struct rlimit limit;
    limit.rlim_cur = limit.rlim_max =
        (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (64 << 20);
    if (setrlimit(RLIMIT_AS, &limit) != 0) return 3;
    char *grown = realloc(block, 512 << 20);
    printf("realloc: %s, kept: %s\n", grown ? "ok" : "null",
           !grown && block[99] == 7 ? "yes" : "no");
    if (grown) block = grown;
    char *big = malloc(512 << 20);
    printf("malloc: %s\n", big ? "ok" : "null");
    free(big);
    char *zeroed = calloc(1, 512 << 20);
    printf("calloc: %s\n", zeroed ? "ok" : "null");
    free(zeroed);
    char *small = malloc(1 << 20);
    printf("small: %s\n", small ? "ok" : "null");
    if (small) memset(small, 1, 1 << 20);
    free(small);
    sink = block;
    sink = NULL;
    return 0;
}
