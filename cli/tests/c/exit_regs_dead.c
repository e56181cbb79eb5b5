/* Exit roots: a block whose only pointer is a dead value in a frame that returned just before
 * `exit` was called (64 stale copies below the caller's frame, where `exit`'s frames now lie:
 * their unwritten slots still hold some), beside one held in a callee-saved register at the
 * call. Built with -Wl,-z,now (as Debian's hardened programs are: no lazy binding of `exit`,
 * whose resolver would overwrite the slots). Valgrind 3.19: the dead one (99 bytes) definitely
 * lost (the slots were below the stack pointer, undefined), the held one (88) still
 * reachable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void forget(void) {
    volatile char *slots[64];
    for (int i = 0; i < 64; i++)
        slots[i] = 0;
    char *p = malloc(99);
    memset(p, 'y', 99);
    for (int i = 0; i < 64; i++)
        slots[i] = p;
    __asm__ volatile("" : : "r"(slots) : "memory");
}

__attribute__((noinline)) static void leave(void) {
    register char *held __asm__("r12") = malloc(88);
    __asm__ volatile("" : "+r"(held) : : "memory");
    puts("done");
    fflush(stdout);
    forget();
    __asm__ volatile("" : : "r"(held) : "memory");
    exit(0);
}

int main(void) {
    leave();
    return 1;
}
