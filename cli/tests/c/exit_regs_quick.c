/* Exit roots: `quick_exit` from a frame whose only pointers to two blocks are in r14 and rbx
 * (its `__run_exit_handlers` runs the at_quick_exit hooks, gpa's among them). Valgrind 3.19:
 * both still reachable, 123 + 45 = 168 bytes in 2 blocks; 67 bytes dropped, definitely lost. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static void leave(void) {
    register char *a __asm__("r14") = malloc(123);
    register char *b __asm__("rbx") = malloc(45);
    char *dropped = malloc(67);
    dropped[0] = 0;
    __asm__ volatile("" : "+r"(a), "+r"(b) : : "memory");
    puts("done");
    fflush(stdout);
    __asm__ volatile("" : : "r"(a), "r"(b) : "memory");
    quick_exit(0);
}

int main(void) {
    leave();
    return 1;
}
