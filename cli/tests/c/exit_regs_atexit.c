/* Exit roots: the program's own atexit handler runs before gpa's exit hook (registered at
 * start-up by the preload library's constructor, so run later); it keeps one block in a
 * global (still reachable, 200 bytes), drops another (definitely lost, 300 bytes) and
 * clobbers the callee-saved registers, which it restores. `exit`'s caller holds two blocks in
 * rbx and r12 only (still reachable, 400 + 500 bytes). Valgrind 3.19: 300 bytes definitely
 * lost in 1 block, 1,100 bytes still reachable in 3 blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *kept;

static void handler(void) {
    kept = malloc(200);
    char *dropped = malloc(300);
    memset(dropped, 0, 300);
    __asm__ volatile("" : : "r"(dropped) : "memory");
    __asm__ volatile("xor %%ebx, %%ebx; xor %%r12d, %%r12d; xor %%r13d, %%r13d"
                     : : : "rbx", "r12", "r13", "memory");
}

__attribute__((noinline)) static void leave(void) {
    register char *a __asm__("rbx") = malloc(400);
    register char *b __asm__("r12") = malloc(500);
    __asm__ volatile("" : "+r"(a), "+r"(b) : : "memory");
    puts("done");
    fflush(stdout);
    __asm__ volatile("" : : "r"(a), "r"(b) : "memory");
    exit(0);
}

int main(void) {
    atexit(handler);
    leave();
    return 1;
}
