/* After Dr. Memory's tests/memalign.c (DynamoRIO/drmemory): posix_memalign (256, 42),
 * (128, 99) after the free lists are primed, (127, 99) refused with EINVAL, (512, 256 KiB),
 * memalign (64, 3), valloc (643), pvalloc (643), each read one byte before its start and one
 * byte past its end; mallopt, mallinfo2, malloc_trim. With an argument, only the 256 KiB block
 * (a large block). Written for gpa; no upstream code. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile char c;

static void edges(char *p, size_t size, size_t align, const char *what) {
    printf("%s aligned: %d\n", what, (uintptr_t)p % align == 0);
    c = p[-1];   /* line 17: one byte before the block */
    c = p[size]; /* line 18: one byte past the block */
    free(p);
}

int main(int argc, char **argv) {
    void *p = NULL;
    int i, res;
    size_t page = sysconf(_SC_PAGESIZE);
    mallopt(M_MMAP_THRESHOLD, 32 * 1024);
    struct mallinfo2 info = mallinfo2();
    (void)info;
    malloc_trim(16);
    if (argc > 1) {
        res = posix_memalign(&p, 512, 256 * 1024);
        edges(p, 256 * 1024, 512, "posix_memalign(512, 256K)");
        return 0;
    }
    res = posix_memalign(&p, 256, 42);
    edges(p, 42, 256, "posix_memalign(256, 42)");
    for (i = 0; i < 10; i++)
        free(malloc(1U << i));
    res = posix_memalign(&p, 128, 99);
    edges(p, 99, 128, "posix_memalign(128, 99)");
    p = NULL;
    res = posix_memalign(&p, 127, 99);
    printf("posix_memalign(127, 99): %s, %s\n", res == EINVAL ? "EINVAL" : "other",
           p ? "set" : "untouched");
    edges(memalign(64, 3), 3, 64, "memalign(64, 3)");
    edges(valloc(643), 643, page, "valloc(643)");
    p = pvalloc(643);
    printf("pvalloc usable >= page: %d\n", malloc_usable_size(p) >= page);
    edges(p, page, page, "pvalloc(643)");
    printf("success\n");
    return 0;
}
