/* Requests no machine can hold: 1 TiB, and just above RAM + swap (sysinfo), through malloc,
 * calloc, realloc (of a small and of a large block), posix_memalign, aligned_alloc and memalign,
 * and a 1 TiB malloc after a large block was freed (gpa's reuse cache may grow it by mremap).
 * Each line: the call, whether it returned NULL, and errno then. glibc (natively) maps large
 * chunks without MAP_NORESERVE, so under the kernel's default heuristic overcommit
 * (vm.overcommit_memory = 0) it gets NULL and ENOMEM for these; then a 16 GiB malloc, below
 * RAM + swap on a 24 GiB machine, succeeds. A failed realloc leaves its block as it was (its
 * bytes are checked). Its 8 MiB block freed first is smaller than the 64 MiB margin above RAM +
 * swap, so growing its mapping to either size (gpa fast mode's reuse cache) is refused too. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

static void report(const char *what, void *p) {
    int saved = errno;
    printf("%s: %s errno=%s\n", what, p ? "ok" : "null",
           p ? "-" : (saved == ENOMEM ? "ENOMEM" : strerror(saved)));
    free(p);
}

static int intact(const unsigned char *p, size_t n, unsigned char byte) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != byte)
            return 0;
    return 1;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sysinfo info;
    if (sysinfo(&info) != 0)
        return 2;
    size_t tib = (size_t)1 << 40;
    size_t above = ((size_t)info.totalram + info.totalswap) * info.mem_unit + ((size_t)64 << 20);
    size_t sizes[2] = {tib, above};
    const char *names[2] = {"1TiB", "above-ram+swap"};
    for (int i = 0; i < 2; i++) {
        size_t n = sizes[i];
        char what[64];
        void *p;
        errno = 0;
        snprintf(what, sizeof what, "malloc %s", names[i]);
        report(what, malloc(n));
        errno = 0;
        snprintf(what, sizeof what, "calloc %s", names[i]);
        report(what, calloc(n / 4096, 4096));

        unsigned char *small = malloc(100);
        memset(small, 0x5a, 100);
        errno = 0;
        p = realloc(small, n);
        snprintf(what, sizeof what, "realloc-small %s", names[i]);
        if (p) {
            report(what, p);
        } else {
            report(what, p);
            printf("realloc-small %s: old block intact=%d\n", names[i], intact(small, 100, 0x5a));
            free(small);
        }

        size_t big = (size_t)8 << 20;
        unsigned char *large = malloc(big);
        memset(large, 0xa5, big);
        errno = 0;
        p = realloc(large, n);
        snprintf(what, sizeof what, "realloc-large %s", names[i]);
        if (p) {
            report(what, p);
        } else {
            report(what, p);
            printf("realloc-large %s: old block intact=%d\n", names[i], intact(large, big, 0xa5));
            free(large);
        }

        static const size_t aligns[3] = {64, (size_t)2 << 20, (size_t)1 << 30};
        for (int a = 0; a < 3; a++) {
            void *q = NULL;
            errno = 0;
            int rc = posix_memalign(&q, aligns[a], n);
            printf("posix_memalign %s align %zu: %s rc=%s\n", names[i], aligns[a],
                   rc == 0 ? "ok" : "fail", rc == 0 ? "0" : (rc == ENOMEM ? "ENOMEM" : strerror(rc)));
            if (rc == 0)
                free(q);
            errno = 0;
            snprintf(what, sizeof what, "aligned_alloc %s align %zu", names[i], aligns[a]);
            report(what, aligned_alloc(aligns[a], n));
            errno = 0;
            snprintf(what, sizeof what, "memalign %s align %zu", names[i], aligns[a]);
            report(what, memalign(aligns[a], n));
        }

        free(malloc((size_t)8 << 20));
        errno = 0;
        snprintf(what, sizeof what, "malloc after free %s", names[i]);
        report(what, malloc(n));
    }
    errno = 0;
    report("malloc 16GiB", malloc((size_t)16 << 30));
    return 0;
}
