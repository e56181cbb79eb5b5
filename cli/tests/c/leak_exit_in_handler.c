/* Leak roots, and a report that needs room: a fault handler that is running is live, on
 * whatever stack it runs. The program's SIGSEGV handler holds a block's address in its frame
 * and calls `exit`; the block is still reachable, while the one `drop_one` dropped is
 * definitely lost (Valgrind: 12 bytes in 1 blocks definitely lost, 40 bytes in 1 blocks
 * still reachable). Under gpa the handler, and so the exit hooks, run on the alternate stack
 * gpa made for the thread: the exit report once overflowed it (SIGSEGV, the process not
 * checked); and the stack the fault interrupted is live only from the interrupted frame up
 * (below it lie stale copies of the dropped block's address). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *volatile noted;

static void on_fault(int signal) {
    (void)signal;
    char *volatile held = noted;
    noted = NULL;
    puts("done");
    fflush(stdout);
    exit(held[0] == 1 ? 0 : 1);
}

/* The dropped block's address is left in no register and no stack slot. */
__attribute__((noipa)) static void drop_one(void) {
    char *dropped = malloc(12);
    dropped[0] = 2;
}

__attribute__((noipa)) static void clobber(void) {
    volatile char scratch[512];
    memset((char *)scratch, 0, sizeof scratch);
}

int main(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_fault;
    sigaction(SIGSEGV, &action, NULL);
    char *block = malloc(40);
    block[0] = 1;
    noted = block;
    block = NULL;
    drop_one();
    clobber();
    *(volatile int *)16 = 1;
    return 1;
}
