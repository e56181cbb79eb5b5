/* Exit roots: `exit` called from a deep frame whose only pointers to six blocks are in the
 * callee-saved registers rbx, rbp, r12, r13, r14 and r15 (gcc -O2: rbp is a general register).
 * glibc's `exit` and `__run_exit_handlers` save them in their own frames, below the caller's.
 * Valgrind 3.19 (scanning from the stack pointer at exit_group): all six still reachable,
 * 11 + 22 + 33 + 44 + 55 + 66 = 231 bytes in 6 blocks; a seventh, dropped (77 bytes), is
 * definitely lost. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static char *block(size_t n) {
    char *p = malloc(n);
    memset(p, 'x', n);
    return p;
}

__attribute__((noinline)) static void leave(int depth) {
    if (depth > 0) {
        leave(depth - 1);
        return;
    }
    register char *a __asm__("rbx") = block(11);
    register char *b __asm__("rbp") = block(22);
    register char *c __asm__("r12") = block(33);
    register char *d __asm__("r13") = block(44);
    register char *e __asm__("r14") = block(55);
    register char *f __asm__("r15") = block(66);
    char *dropped = block(77);
    dropped[1] = 0;
    __asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d), "+r"(e), "+r"(f) : : "memory");
    puts("done");
    fflush(stdout);
    __asm__ volatile("" : : "r"(a), "r"(b), "r"(c), "r"(d), "r"(e), "r"(f) : "memory");
    exit(0);
}

int main(void) {
    leave(5);
    return 1;
}
