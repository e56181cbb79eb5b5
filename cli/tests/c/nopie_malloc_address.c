/* A non-PIE executable that takes the addresses of malloc and free (as Debian's
 * /usr/bin/python3 does): the executable gets "canonical" PLT entries for them, and
 * dlsym(RTLD_DEFAULT, "malloc") answers the executable's stub, which jumps to whoever defines
 * malloc (gpa). Built with -fno-pic -no-pie. Valgrind 3.19: "40 bytes in 1 blocks are
 * definitely lost" (main, the call through `allocate`), no other error. */
#include <stdio.h>
#include <stdlib.h>

void *(*volatile allocate)(size_t) = malloc;
void (*volatile release)(void *) = free;

int main(void) {
    char *kept = allocate(40);
    char *freed = allocate(16);
    release(freed);
    printf("%d\n", kept != NULL);
    kept = NULL;
    return 0;
}
