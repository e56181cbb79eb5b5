/* A block whose only pointer is in a register when the process ends (x86-64: `r12`, held by
 * a local register variable, so no stack slot holds a copy at any optimization level).
 *   crash1: main holds a 32-byte block in r12 and stores to address 0 (SIGSEGV);
 *   crash2: another thread holds a 48-byte block in r12 and spins; main stores to 0;
 *   exit2:  the same thread and block; main calls exit(0).
 * Valgrind 3.19 scans every thread's registers at exit2's exit, none at a fatal signal. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int ready;
static volatile int *volatile null_pointer;

static void *spinner(void *unused) {
    (void)unused;
    register char *held asm("r12") = malloc(48);
    memset(held, 1, 48);
    __asm__ volatile("" : "+r"(held));
    ready = 1;
    for (;;)
        __asm__ volatile("pause" : "+r"(held));
    return NULL;
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "crash1";
    if (!strcmp(how, "crash1")) {
        register char *held asm("r12") = malloc(32);
        memset(held, 2, 32);
        __asm__ volatile("" : "+r"(held));
        *null_pointer = 1;
        __asm__ volatile("" : "+r"(held));
        return 0;
    }
    pthread_t thread;
    pthread_create(&thread, NULL, spinner, NULL);
    while (!ready)
        usleep(1000);
    if (!strcmp(how, "crash2"))
        *null_pointer = 1;
    exit(0);
}
