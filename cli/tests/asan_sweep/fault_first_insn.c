/* Built with -O2: the write after free is the first instruction of poke(), and the byte before
   it belongs to announce(). Under --guard the write faults on the freed block's page.
   Valgrind 3.19: "Invalid write of size 8 at main (fault_first_insn.c:23)" (the call of poke),
   "Address ... is 0 bytes inside a block of size 8 free'd" at main (:22), alloc'd at main
   (:20). gpa names poke (:16) first, then main (:23). */
#include <stdio.h>
#include <stdlib.h>

long *volatile kept;

__attribute__((noinline)) void announce(const char *what) {
    puts(what);
}

__attribute__((noinline)) void poke(long *slot) {
    *slot = 42;
}

int main(void) {
    kept = malloc(sizeof *kept);
    announce("freeing");
    free(kept);
    poke(kept);
    return 0;
}
