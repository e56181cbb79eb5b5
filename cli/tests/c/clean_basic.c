/* Clean: every allocation function, every block freed; prints a checksum. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("FAILED: %s (line %d)\n", #cond, __LINE__); failures++; } } while (0)

int main(void) {
    unsigned long sum = 0;
    char *blocks[1000];
    for (int i = 0; i < 1000; i++) {
        size_t size = (size_t)(i * 37 % 5000);
        blocks[i] = malloc(size);
        CHECK(blocks[i] != NULL);
        CHECK((uintptr_t)blocks[i] % 16 == 0);
        memset(blocks[i], i & 0xff, size);
    }
    for (int i = 0; i < 1000; i++) {
        size_t size = (size_t)(i * 37 % 5000);
        for (size_t j = 0; j < size; j += 97) sum += (unsigned char)blocks[i][j];
        free(blocks[i]);
    }
    int *zeroed = calloc(1000, sizeof(int));
    for (int i = 0; i < 1000; i++) CHECK(zeroed[i] == 0);
    free(zeroed);
    errno = 0;
    CHECK(calloc(SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
    errno = 0;
    /* Too large to exist, but not negative as a signed number: SIZE_MAX - 8 would be -9, which
     * Valgrind (and gpa) report as a fishy value, an error in a program meant to be clean. */
    CHECK(malloc(SIZE_MAX / 2) == NULL && errno == ENOMEM);

    char *grow = NULL;
    for (int i = 1; i <= 300; i++) {
        grow = realloc(grow, (size_t)i * 100);
        grow[i * 100 - 1] = (char)i;
        CHECK(i == 1 || grow[(i - 1) * 100 - 1] == (char)(i - 1));
    }
    grow = realloc(grow, 10);
    CHECK(grow != NULL);
    CHECK(realloc(grow, 0) == NULL); /* glibc: frees, returns NULL */
    char *array = reallocarray(NULL, 10, 10);
    CHECK(array != NULL);
    errno = 0;
    CHECK(reallocarray(array, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
    free(array);

    void *aligned = NULL;
    CHECK(posix_memalign(&aligned, 4096, 100) == 0 && (uintptr_t)aligned % 4096 == 0);
    free(aligned);
    CHECK(posix_memalign(&aligned, 3, 100) == EINVAL);
    CHECK(posix_memalign(&aligned, 1 << 21, 100) == 0 && (uintptr_t)aligned % (1 << 21) == 0);
    free(aligned);
    char *a = aligned_alloc(64, 256);
    CHECK(a != NULL && (uintptr_t)a % 64 == 0);
    free(a);
    a = memalign(256, 1000);
    CHECK(a != NULL && (uintptr_t)a % 256 == 0);
    free(a);
    long page = sysconf(_SC_PAGESIZE);
    a = valloc(10);
    CHECK(a != NULL && (uintptr_t)a % page == 0);
    free(a);
    a = pvalloc(10);
    CHECK(a != NULL && (uintptr_t)a % page == 0);
    free(a);
    a = malloc(100);
    CHECK(malloc_usable_size(a) >= 100);
    CHECK(malloc_usable_size(NULL) == 0);
    free(a);
    free(NULL);
    char *big = malloc(10 << 20);
    memset(big, 1, 10 << 20);
    big = realloc(big, 20 << 20);
    CHECK(big[(10 << 20) - 1] == 1);
    free(big);
    char *copy = strdup("a string duplicated by libc");
    sum += strlen(copy);
    free(copy);
    printf("checksum %lu failures %d\n", sum, failures);
    return failures != 0;
}
