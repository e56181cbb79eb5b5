/* A page of a live block made inaccessible: the exit scan must not read it (it used to
 * fault there, losing the program's buffered output with the report). Valgrind: "done", exit
 * status 0, 32,768 bytes definitely lost. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(void) {
    void *p;
    posix_memalign(&p, 4096, 32768);
    mprotect(p, 4096, PROT_NONE);
    puts("done");
    return 0;
}
