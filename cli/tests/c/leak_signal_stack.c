/* Leak roots: what a fault handler leaves on the signal stack is no root. The program's
 * SIGSEGV handler copies a block's address into its frame and returns with `siglongjmp`;
 * the block is then dropped. Under gpa the handler runs on the alternate stack gpa made for
 * the thread (gpa's handler forwards the fault on the stack it runs on); under Valgrind on
 * the thread's stack, below its stack pointer, where memcheck sees it as undefined once the
 * handler is gone (Valgrind: 40 bytes in 1 blocks definitely lost). */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sigjmp_buf back;
static char *volatile noted;

static void on_fault(int signal) {
    (void)signal;
    char *volatile copies[8];
    for (int i = 0; i < 8; i++)
        copies[i] = noted;
    siglongjmp(back, 1);
}

int main(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_fault;
    sigaction(SIGSEGV, &action, NULL);
    char *block = malloc(40);
    block[0] = 1;
    noted = block;
    if (sigsetjmp(back, 1) == 0)
        *(volatile int *)16 = 1;
    noted = NULL;
    block = NULL;
    puts("done");
    return 0;
}
