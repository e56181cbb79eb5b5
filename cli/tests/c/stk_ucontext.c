/* Small stacks: three `makecontext`/`swapcontext` coroutines on stacks of the program's own
 * (mapped with mmap; 16 KiB, or argv[2] bytes), switching with main and with each other. Each
 * allocates and frees on every turn; coroutine 1 writes one byte past a 20-byte block (a heap
 * overflow) and coroutine 2 drops a 40-byte block (a leak). gpa knows nothing of these stacks.
 * Valgrind (told of the stacks with VALGRIND_STACK_REGISTER): 1 error (invalid write of size
 * 1, 0 bytes after a block of size 20), definitely lost 40 bytes in 1 block. With argv[1]
 * "exit" (else "run") coroutine 2 ends the process with `exit(0)` on its last turn, so the
 * exit report and leak scan start on its stack: Valgrind says the same but for the 40 bytes,
 * still reachable (the unoptimized frame that calls `exit` still holds the pointer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h> /* a no-op natively: tells Valgrind of the coroutine stacks */
#else
#define VALGRIND_STACK_REGISTER(start, end) 0
#endif

#define COROUTINES 3

static size_t stack_size = 16 * 1024;
static ucontext_t main_context, contexts[COROUTINES];
static void *volatile sink;
static int calls_exit;

static void body(int which) {
    for (int turn = 0; turn < 4; turn++) {
        char *block = malloc(32 + (size_t)which * 16 + (size_t)turn);
        memset(block, which, 32);
        if (which == 1 && turn == 2) {
            char *small = malloc(20);
            memset(small, 'a', 20);
            small[20] = 'x'; /* one byte past the end (in glibc's slack) */
            free(small);
        }
        if (which == 2 && turn == 1) {
            char *dropped = malloc(40);
            memset(dropped, 'b', 40);
            sink = dropped;
            sink = NULL;
        }
        free(block);
        if (calls_exit && which == 2 && turn == 3) {
            puts("coroutine 2 exits");
            exit(0);
        }
        /* to the next coroutine, the last back to main */
        ucontext_t *next = which + 1 < COROUTINES ? &contexts[which + 1] : &main_context;
        swapcontext(&contexts[which], next);
    }
}

int main(int argc, char **argv) {
    calls_exit = argc > 1 && strcmp(argv[1], "exit") == 0;
    if (argc > 2) stack_size = strtoul(argv[2], NULL, 0);
    void *stacks[COROUTINES];
    for (int i = 0; i < COROUTINES; i++) {
        stacks[i] = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (stacks[i] == MAP_FAILED) return 2;
        (void)VALGRIND_STACK_REGISTER(stacks[i], (char *)stacks[i] + stack_size);
        getcontext(&contexts[i]);
        contexts[i].uc_stack.ss_sp = stacks[i];
        contexts[i].uc_stack.ss_size = stack_size;
        contexts[i].uc_link = &main_context;
        makecontext(&contexts[i], (void (*)(void))body, 1, i);
    }
    for (int round = 0; round < 5; round++) swapcontext(&main_context, &contexts[0]);
    for (int i = 0; i < COROUTINES; i++) munmap(stacks[i], stack_size);
    puts("coroutines done");
    return 0;
}
