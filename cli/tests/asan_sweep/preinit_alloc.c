/* A block allocated by a function of the executable's .preinit_array, which runs before every
   shared library's constructor (gpa's and libc's: getenv finds nothing yet), freed in main;
   then a block lost in main.
   Valgrind 3.19: "24 bytes in 1 blocks are definitely lost in loss record 1 of 1" allocated
   at main (preinit_alloc.c:19); nothing about the early block. */
#include <stdio.h>
#include <stdlib.h>

static char *early;

static void allocate_early(void) {
    early = calloc(10, 1);
}

__attribute__((section(".preinit_array"), used)) static void (*run_early)(void) = allocate_early;

int main(void) {
    free(early);
    char *lost = malloc(24);
    lost[0] = 1;
    lost = NULL;
    puts("done");
    return 0;
}
