/* Exit roots: `_exit` from a frame whose only pointers to two blocks are in r13 and rbx (gpa's
 * `_exit` runs the report itself; its own frames, which saved the registers, are no roots, the
 * values are recovered from them). Valgrind 3.19 (the registers at exit_group): both still
 * reachable, 76 + 54 = 130 bytes in 2 blocks; 32 bytes dropped, definitely lost. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) static void leave(void) {
    register char *a __asm__("r13") = malloc(76);
    register char *b __asm__("rbx") = malloc(54);
    char *dropped = malloc(32);
    dropped[0] = 0;
    __asm__ volatile("" : "+r"(a), "+r"(b) : : "memory");
    puts("done");
    fflush(stdout);
    __asm__ volatile("" : : "r"(a), "r"(b), "r"(dropped) : "memory");
    dropped = 0;
    _exit(0);
}

int main(void) {
    leave();
    return 1;
}
