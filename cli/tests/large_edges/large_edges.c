/* Reads at the edges of large blocks, where glibc lets a program read: the 16 bytes of its
 * mmapped chunk's header before the data (more for an aligned block) and the rest of the
 * chunk's last page after it (at least 8 bytes). After glibc's malloc/tst-malloc-too-large.c
 * and tst-memalign.c (large and aligned blocks) and Dr. Memory's tests/memalign.c; written for
 * gpa, no upstream code. The first argument picks the blocks:
 *   plain    malloc of sizes from just above gpa's largest size class to 5 MiB
 *   aligned  posix_memalign, aligned_alloc, memalign, valloc of large blocks
 *   calloc   calloc'd large blocks (read as zeros)
 *   realloc  a block grown by realloc (glibc and gpa move it with mremap), then shrunk
 *   reuse    blocks made from freed ones' memory (gpa's reuse cache: fit, trim, grow)
 *   page     (not glibc's) the whole page before the data and the page after the end
 *   write    one byte written before a block, then freed (glibc does not notice this byte,
 *            the top one of its size field: its munmap of the damaged length fails)
 *   freed    (not glibc's) the byte before a freed block and one 2000 bytes before it
 * `edges` prints what it read, never the bytes (glibc's header is not gpa's zeros). */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile char c;
static size_t page;

/* The reads: the byte before the data, glibc's whole header distance, the byte past the end,
 * the 8th byte past it, and the last byte of the page that holds the byte past the end. */
static void edges(const char *what, char *p, size_t size) {
    uintptr_t end = (uintptr_t)p + size;
    char *page_end = (char *)((end | (page - 1)));
    c = p[-1];
    c = p[-16];
    c = p[size];
    c = p[size + 7];
    c = *page_end;
    printf("%s: %zu bytes, edges read\n", what, size);
}

/* Beyond glibc: the whole page before the data, and the page after the end's. */
static void far_edges(const char *what, char *p, size_t size) {
    c = p[-(long)page];
    c = *(char *)((((uintptr_t)p + size) | (page - 1)));
    printf("%s: %zu bytes, page before and page end read\n", what, size);
}

static void plain(void) {
    size_t sizes[] = {128 * 1024 + 1, 200000, 256 * 1024, 256 * 1024 - 16, 256 * 1024 - 8,
                      100 * 4096 - 24, 1 << 20, (5 << 20) + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char *p = malloc(sizes[i]);
        memset(p, 'a', sizes[i]);
        edges("malloc", p, sizes[i]);
        free(p);
    }
}

static void aligned(void) {
    size_t aligns[] = {32, 64, 512, 4096, 8192, 65536, 1 << 21};
    for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++) {
        void *p = NULL;
        if (posix_memalign(&p, aligns[i], 256 * 1024) != 0)
            return;
        printf("posix_memalign(%zu) aligned: %d\n", aligns[i], (uintptr_t)p % aligns[i] == 0);
        edges("posix_memalign", p, 256 * 1024);
        free(p);
    }
    char *a = aligned_alloc(4096, 300 * 4096);
    edges("aligned_alloc(4096)", a, 300 * 4096);
    free(a);
    char *m = memalign(64, 200000);
    edges("memalign(64)", m, 200000);
    free(m);
    char *v = valloc(150000);
    edges("valloc", v, 150000);
    free(v);
}

static void zeroed(void) {
    size_t sizes[] = {150000, 256 * 1024, 3 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char *p = calloc(1, sizes[i]);
        size_t nonzero = 0;
        for (size_t j = 0; j < sizes[i]; j++)
            nonzero += p[j] != 0;
        printf("calloc: %zu nonzero\n", nonzero);
        edges("calloc", p, sizes[i]);
        memset(p, 'z', sizes[i]);
        free(p);
    }
}

static void grown(void) {
    size_t sizes[] = {300000, 3000000, 30000000, 12 << 20, 400000};
    char *p = NULL;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        p = realloc(p, sizes[i]);
        printf("realloc: first byte kept: %d\n", i == 0 || p[0] == 'r');
        p[0] = 'r';
        p[sizes[i] - 1] = 'r';
        edges("realloc", p, sizes[i]);
    }
    free(p);
}

static void reuse(void) {
    /* The same size again, a smaller one from a bigger freed block, a bigger one than the
     * freed block (grown from it). */
    size_t sizes[][2] = {{1 << 20, 1 << 20}, {4 << 20, 600000}, {1 << 20, 1572864 + 5}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char *old = malloc(sizes[i][0]);
        memset(old, 'o', sizes[i][0]);
        free(old);
        char *p = malloc(sizes[i][1]);
        memset(p, 'n', sizes[i][1]);
        edges("reused", p, sizes[i][1]);
        free(p);
    }
}

static void far(void) {
    size_t sizes[] = {200000, 256 * 1024, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char *p = malloc(sizes[i]);
        far_edges("malloc", p, sizes[i]);
        free(p);
    }
    void *q = NULL;
    if (posix_memalign(&q, 65536, 300000) == 0) {
        far_edges("posix_memalign(65536)", q, 300000);
        free(q);
    }
}

static void underwrite(void) {
    char *p = malloc(256 * 1024);
    p[-1] = 'w';
    free(p);
    printf("written before\n");
}

/* After the free: the byte before the block and one in the page before it (natively glibc
 * has unmapped the chunk: the native run dies). */
static void freed(void) {
    char *p = malloc(256 * 1024);
    free(p);
    c = p[-1];
    c = p[-2000];
    printf("read after free\n");
}

/* Bytes written farther before large blocks than glibc's header: 40 bytes, and 3000 (the
 * page before the data). Natively the writes land before glibc's mmapped chunks (nothing
 * mapped there: the run dies of SIGSEGV, not compared). */
static void underwrite_far(void) {
    char *p = malloc(256 * 1024);
    p[-40] = 'w';
    free(p);
    char *q = malloc(1024 * 1024);
    q[-3000] = 'w';
    free(q);
    printf("written farther before\n");
}

int main(int argc, char **argv) {
    page = sysconf(_SC_PAGESIZE);
    /* glibc maps every block from 64 KiB on (no dynamic threshold after a free): the native
     * run's blocks are all mmapped chunks. */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
    const char *mode = argc > 1 ? argv[1] : "plain";
    if (!strcmp(mode, "plain"))
        plain();
    else if (!strcmp(mode, "aligned"))
        aligned();
    else if (!strcmp(mode, "calloc"))
        zeroed();
    else if (!strcmp(mode, "realloc"))
        grown();
    else if (!strcmp(mode, "reuse"))
        reuse();
    else if (!strcmp(mode, "page"))
        far();
    else if (!strcmp(mode, "write"))
        underwrite();
    else if (!strcmp(mode, "farwrite"))
        underwrite_far();
    else if (!strcmp(mode, "freed"))
        freed();
    printf("success\n");
    return 0;
}
