/* After Dr. Memory's tests/malloc.c (DynamoRIO/drmemory): a read past a 3-byte block, malloc
 * (0), a large block grown by realloc, realloc's shrinking and growing, realloc (NULL, n),
 * realloc (p, 0), a free of a wild address caught by a SIGSEGV handler, a wild read, and the
 * leak verdicts: a lost block holding the only pointer to another (definite + indirect), a
 * block kept by a global (reachable) and one kept only through an interior pointer (possible).
 * Written for gpa; no upstream code. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sigjmp_buf mark;
static void *kept;
static void *interior;

static void on_fault(int sig) { siglongjmp(mark, sig); }

static void __attribute__((noinline)) leak_pair(void) {
    void **outer = calloc(1, 42);
    *outer = malloc(17);
}

int main(int argc, char **argv) {
    volatile char c = 0;
    char *p;
    int *arr, i;
    for (i = 0; i < 20; i++) {
        p = malloc(3);
        c = p[3]; /* line 30: read 1 byte past a 3-byte block, 20 times */
        free(p);
    }
    p = malloc(0);
    printf("malloc(0): %s\n", p ? "block" : "NULL");
    free(p);
    p = malloc(512 * 1024);
    memset(p, 7, 512 * 1024);
    p = realloc(p, 1024 * 1024);
    printf("big realloc kept: %d\n", p[512 * 1024 - 1] == 7);
    free(p);
    arr = realloc(NULL, 2 * sizeof(int));
    arr[0] = 1;
    arr[1] = 2;
    arr = realloc(arr, 128);
    arr = realloc(arr, 3 * sizeof(int));
    arr[2] = 3;
    printf("sum: %d\n", arr[0] + arr[1] + arr[2]);
    free(arr);
    p = malloc(37);
    p = realloc(p, 0);
    printf("realloc(p, 0): %s\n", p ? "block" : "NULL");
    free(p);
    signal(SIGSEGV, on_fault);
    signal(SIGBUS, on_fault);
    if (sigsetjmp(mark, 1) == 0)
        free(argc < 0 ? (void *)argv : (void *)0x1230UL); /* line 56: free of a wild address */
    printf("after the wild free\n");
    leak_pair(); /* 42 definitely + 17 indirectly lost (line 20, line 21) */
    kept = calloc(1, 8); /* reachable: 8 + 19 */
    *(void **)kept = malloc(19);
    interior = (char *)calloc(1, 24) + 8; /* possibly lost: 24 */
    if (sigsetjmp(mark, 1) == 0)
        c = *(volatile char *)0x100; /* line 63: wild read, SIGSEGV caught */
    else
        printf("wild read faulted\n");
    printf("all done\n");
    return 0;
}
