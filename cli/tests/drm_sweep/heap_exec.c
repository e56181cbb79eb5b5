/* After Dr. Memory's tests/app_suite/malloc_tests.cpp (DynamoRIO/drmemory): calloc whose
 * product overflows, code run from a heap block made executable by mprotect and another
 * block allocated after it, and 32 rounds of 512 blocks of 64 KiB allocated and freed (128 rounds
 * upstream).
 * Written for gpa; no upstream code. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    printf("calloc overflow: %s\n", calloc(0x100000ULL, 0x100000000001ULL) ? "block" : "NULL");
    size_t page = sysconf(_SC_PAGESIZE);
    unsigned char *p = malloc(256 * 1024);
    int res = mprotect((void *)((uintptr_t)p & ~(page - 1)), page,
                       PROT_READ | PROT_WRITE | PROT_EXEC);
    printf("mprotect: %d\n", res);
    *p = 0xc3; /* ret */
    ((void (*)(void))p)();
    void *p2 = malloc(8);
    free(p);
    free(p2);
    static char *big[512];
    for (int j = 0; j < 32; j++) {
        for (int i = 0; i < 512; i++)
            big[i] = malloc(64 * 1024);
        for (int i = 0; i < 512; i++)
            free(big[i]);
    }
    printf("done\n");
    return 0;
}
