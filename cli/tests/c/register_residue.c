/* The registers an allocation call returns with: glibc's `getcontext`/`swapcontext` save
 * `rcx`, `rdx`, `rsi`, `rdi`, `r8` and `r9` into a `ucontext_t` (a coroutine's, often a
 * static), where the exit's leak scan reads them as the program's words. gpa's exported
 * allocation functions clear them (`capi::scrubbed`): what its allocator computed last (a
 * slot's or a page's address, a pointer one byte into a neighbour block) read as a pointer
 * into a block the program had dropped, a leak memcheck calls definitely lost reported as
 * possibly lost (small_stacks.rs, stk_ucontext.c). For each call of argv[1] on 300 blocks of
 * sizes 1 to 2,000 bytes: the six registers right after the call (an assembly helper stores
 * them before any compiled code runs), and "residue" with the call and the register when one
 * is not zero; else "clean". Natively and under Valgrind the registers hold whatever glibc or
 * Valgrind left (this program's verdict is about gpa only). x86-64 only. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* call_captured(function, a, b, regs): function(a, b), then rcx, rdx, rsi, rdi, r8 and r9
 * stored into regs[0..6] at once; returns function's rax. */
void *call_captured(void *function, unsigned long a, unsigned long b, unsigned long *regs);
__asm__(".text\n"
        ".globl call_captured\n"
        ".type call_captured, @function\n"
        "call_captured:\n"
        "  pushq %rbx\n"
        "  movq %rcx, %rbx\n"
        "  movq %rdi, %rax\n"
        "  movq %rsi, %rdi\n"
        "  movq %rdx, %rsi\n"
        "  call *%rax\n"
        "  movq %rcx, 0(%rbx)\n"
        "  movq %rdx, 8(%rbx)\n"
        "  movq %rsi, 16(%rbx)\n"
        "  movq %rdi, 24(%rbx)\n"
        "  movq %r8, 32(%rbx)\n"
        "  movq %r9, 40(%rbx)\n"
        "  popq %rbx\n"
        "  ret\n"
        ".size call_captured, .-call_captured\n");

static const char *const names[6] = {"rcx", "rdx", "rsi", "rdi", "r8", "r9"};
static int residue;

static void check(const char *call, size_t size, const unsigned long *regs) {
    for (int i = 0; i < 6; i++) {
        if (regs[i] != 0 && residue < 10) {
            printf("residue %s %zu %s %#lx\n", call, size, names[i], regs[i]);
            residue++;
        }
    }
}

static void *new_block(unsigned long size, unsigned long unused) {
    (void)unused;
    return malloc(size);
}

int main(int argc, char **argv) {
    const char *call = argc > 1 ? argv[1] : "malloc";
    void *blocks[300];
    unsigned long regs[6];
    for (int i = 0; i < 300; i++) {
        size_t size = 1 + (size_t)i * 7 % 2000;
        void *block;
        if (!strcmp(call, "calloc")) {
            block = call_captured((void *)calloc, 1, size, regs);
        } else if (!strcmp(call, "realloc")) {
            void *first = malloc(size / 2 + 1);
            block = call_captured((void *)realloc, (unsigned long)first, size, regs);
        } else if (!strcmp(call, "memalign")) {
            block = call_captured((void *)memalign, 64, size, regs);
        } else if (!strcmp(call, "free")) {
            block = new_block(size, 0);
            void *gone = malloc(size);
            call_captured((void *)free, (unsigned long)gone, 0, regs);
        } else {
            block = call_captured((void *)malloc, size, 0, regs);
        }
        if (!block) return 2;
        memset(block, 'b', size);
        blocks[i] = block;
        check(call, size, regs);
    }
    for (int i = 0; i < 300; i++) free(blocks[i]);
    puts(residue ? "residue" : "clean");
    return 0;
}
