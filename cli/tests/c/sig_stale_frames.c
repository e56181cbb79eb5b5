/* A block lost before the C library raises a fatal signal, its address left behind only in
 * the slots of a returned frame, which the library's frames (abort's, raise's,
 * pthread_kill's) reuse without writing all of them. Valgrind, knowing those slots unwritten,
 * counts the block definitely lost whatever the stack's placement; which slot holds the stale
 * copy when the signal arrives moves with the stack's alignment (the environment's size,
 * address-space randomization). HOW: raise (SIGTERM), abort (SIGABRT), kill (SIGTERM by
 * kill(2) to the process). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Leaves `block`'s address in this frame's slots, below main's stack pointer once it returns. */
__attribute__((noinline)) static void leave_copies(void *block) {
    void *volatile slots[16];
    for (int i = 0; i < 16; i++)
        slots[i] = block;
    __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "raise";
    char *block = malloc(24);
    memset(block, 1, 24);
    leave_copies(block);
    block = NULL;
    __asm__ volatile("" : "+r"(block));
    if (!strcmp(how, "abort"))
        abort();
    if (!strcmp(how, "kill"))
        kill(getpid(), SIGTERM);
    raise(SIGTERM);
    return 0;
}
