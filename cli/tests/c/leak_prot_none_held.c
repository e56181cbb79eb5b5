/* Inaccessible pages inside blocks still referenced (Valgrind's verdicts):
 * - `held` points to the start of a block whose first page is inaccessible: a pointer into an
 *   unreadable page does not count, so its 32,768 bytes are definitely lost;
 * - `middle` is reachable; of the three blocks it points to, the one whose pointer lies in
 *   its inaccessible middle page (22 bytes) is never seen: definitely lost. The 11- and
 *   33-byte blocks, and `middle`'s 12,288 bytes, are still reachable. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

void *held;
void **middle;

int main(void) {
    posix_memalign(&held, 4096, 32768);
    mprotect(held, 4096, PROT_NONE);
    posix_memalign((void **)&middle, 4096, 3 * 4096);
    middle[0] = malloc(11);
    middle[4096 / sizeof(void *)] = malloc(22);
    middle[2 * 4096 / sizeof(void *)] = malloc(33);
    mprotect((char *)middle + 4096, 4096, PROT_NONE);
    puts("done");
    return 0;
}
