/* libc calls on the edges of the check's block lookup (cli/tests/libc_calls.rs): `lookup CASE`.
 * The check looks an address up in the page map, a small segment's chunk first; these cases take
 * the other ways. Large blocks (over 128 KiB: a mapping of their own, not a small segment's
 * slot): one planted bug per case, the call marked `@CASE`. `adjacent`: memory the program maps
 * itself in the 4 MiB chunk just after, and the one just before, the chunk of a small heap block
 * (where nothing else is mapped already), used by string and memory calls together with the heap
 * block: nothing to report; it prints how many of the two chunks it could map and a checksum. Sizes
 * come from a volatile so that no call is inlined or folded. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static volatile size_t zero = 0;

static size_t n(size_t value) { return value + zero; }

#define LARGE 200008
#define CHUNK ((uintptr_t)4 << 20)
#define MAPPED 8192

/* Calls on the program's own mapping `m` of MAPPED bytes and the heap block `p` of 32 bytes
 * (a 31-byte string): `m` starts or ends at a chunk's boundary next to `p`'s chunk. */
static long use_mapping(char *m, char *p) {
    long sum = 0;
    /* The mapping's first and last bytes: strings that start at its first byte and end at its
     * last. */
    memset(m, 'a', MAPPED);
    m[40] = 0;
    m[MAPPED - 1] = 0;
    sum += strlen(m);
    sum += strlen(m + MAPPED - 20);
    sum += strcmp(m, p) > 0;
    sum += strcmp(p, m + MAPPED - 20) < 0;
    sum += strncmp(m + MAPPED - 20, p, n(40)) > 0;
    sum += memcmp(m + MAPPED - 32, p, n(32)) != 0;
    memcpy(m + MAPPED - 32, p, n(32));
    memcpy(m, p, n(32));
    memcpy(p, m + MAPPED - 32, n(32));
    strcpy(m + MAPPED - 32, p);
    sum += strlen(m + MAPPED - 32);
    return sum;
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "";
    char stack[64];
    memset(stack, 'a', sizeof stack);
    stack[63] = 0;
    if (!strcmp(name, "large_memcpy_read")) {
        char *big = malloc(n(LARGE));
        memset(big, 'a', LARGE);
        memcpy(stack, big + LARGE - 8, n(16)); /* @large_memcpy_read: 8 bytes past its end */
        free(big);
    } else if (!strcmp(name, "large_memset_write")) {
        char *big = malloc(n(LARGE));
        memset(big, 0, n(LARGE + 5)); /* @large_memset_write: 5 bytes past its end */
        free(big);
    } else if (!strcmp(name, "large_strcmp")) {
        char *big = malloc(n(LARGE));
        memset(big, 'a', LARGE);
        stack[40] = 'b';
        /* Equal for the block's last 20 bytes, then past its end. */
        printf("%d\n", strcmp(big + LARGE - 20, stack) != 0); /* @large_strcmp */
        free(big);
    } else if (!strcmp(name, "large_clean")) {
        char *big = malloc(n(LARGE));
        memset(big, 'a', LARGE);
        big[LARGE - 1] = 0;
        long sum = strlen(big + LARGE - 30);
        sum += strcmp(big + LARGE - 30, stack) < 0;
        memcpy(stack, big + LARGE - 16, n(16));
        memcpy(big + LARGE - 64, stack, n(63));
        printf("%ld\n", sum);
        free(big);
    } else if (!strcmp(name, "adjacent")) {
        char *p = malloc(n(32));
        memset(p, 'b', 31);
        p[31] = 0;
        uintptr_t chunk = (uintptr_t)p & ~(CHUNK - 1);
        /* The first bytes of the next chunk, and the last bytes before this one. */
        void *wanted[2] = {(void *)(chunk + CHUNK), (void *)(chunk - MAPPED)};
        int mapped = 0;
        long sum = 0;
        for (int i = 0; i < 2; i++) {
            char *m = mmap(wanted[i], MAPPED, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            if (m == MAP_FAILED) continue;
            if (m != wanted[i]) {
                munmap(m, MAPPED);
                continue;
            }
            mapped++;
            sum += use_mapping(m, p);
            munmap(m, MAPPED);
        }
        printf("%d %ld\n", mapped, sum);
        free(p);
    }
    return 0;
}
