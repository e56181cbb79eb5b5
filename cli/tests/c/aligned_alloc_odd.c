/* aligned_alloc with alignments that are not powers of two. glibc 2.36 (Debian 12) and
 * Valgrind 3.19 give a block aligned to the next power of two (aligned_alloc was memalign
 * then); glibc 2.38 and later fail with EINVAL. Prints one line per call. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    size_t aligns[] = {63, 3, 24, 100, 0, 4096 + 1};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        size_t rounded = 1;
        while (rounded < aligns[i]) rounded <<= 1;
        errno = 0;
        char *p = aligned_alloc(aligns[i], 8);
        if (p) {
            p[7] = 1;
            printf("aligned_alloc(%zu, 8): block, aligned %d\n", aligns[i],
                   (uintptr_t)p % rounded == 0);
        } else {
            printf("aligned_alloc(%zu, 8): NULL, errno %d\n", aligns[i], errno);
        }
        free(p);
    }
    return 0;
}
