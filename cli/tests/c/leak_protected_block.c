/* A program that protects pages of its own heap blocks with mprotect, as Valgrind's
 * leak-segv-jmp.c does, and exits with them: the first page of one 200,000-byte block (its
 * start, where gpa keeps the front guard), the last page of another (where gpa keeps the
 * redzone), and one 100-byte block lost. gpa used to fault on the protected guard and
 * redzone at exit and lose the whole report (the run was "not checked", exit 139).
 *
 * Valgrind 3.19 (valgrind --leak-check=full): definitely lost 200,100 bytes in 2 blocks (the
 * 100-byte block, and the block whose start is unreadable: memcheck takes no pointer to an
 * unreadable address), still reachable 200,000 bytes in 1 block, no other error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *start_protected;
static char *end_protected;

static void lose(void) {
    char *lost = malloc(100);
    memset(lost, 1, 100);
}

int main(void) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    printf("done\n");
    fflush(stdout);
    start_protected = calloc(200000, 1);
    end_protected = calloc(200000, 1);
    lose();
    uintptr_t first = (uintptr_t)start_protected & ~(page - 1);
    if (mprotect((void *)first, page, PROT_NONE) != 0)
        return 1;
    uintptr_t last = ((uintptr_t)end_protected + 200000) & ~(page - 1);
    if (mprotect((void *)last, page, PROT_NONE) != 0)
        return 1;
    return 0;
}
