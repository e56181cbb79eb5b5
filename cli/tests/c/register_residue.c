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
 * Valgrind left (this program's verdict is about gpa only). x86-64 only.
 *
 * Then, for every call, the values that matter to a leak verdict: a register value that lies
 * inside a block the program drops (the odd blocks of the 300, and 300 more of the same sizes
 * allocated after the calls, which take the slots the allocator's free lists named; for the
 * checked calls below, runs of ten blocks of one size, so that the odd blocks are the even
 * ones' neighbours), printed
 * as "dropped N" before the last line. The calls on the even blocks that allocate nothing
 * (gpa's checked libc functions and malloc_usable_size) are judged by that count alone:
 * "clean" when it is 0.
 *   strlen   strlen(b)             strcmp   strcmp(b, blocks[0])
 *   memcpy   memcpy(b, blocks[0], 1)  memset   memset(b, 'c', size - 1)
 *   strcpy   strcpy(b, blocks[0])  usable   malloc_usable_size(b) */
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

/* call_captured3(function, a, b, c, regs): function(a, b, c), then the six registers as
 * call_captured stores them. */
void *call_captured3(void *function, unsigned long a, unsigned long b, unsigned long c,
                     unsigned long *regs);
__asm__(".text\n"
        ".globl call_captured3\n"
        ".type call_captured3, @function\n"
        "call_captured3:\n"
        "  pushq %rbx\n"
        "  movq %r8, %rbx\n"
        "  movq %rdi, %rax\n"
        "  movq %rsi, %rdi\n"
        "  movq %rdx, %rsi\n"
        "  movq %rcx, %rdx\n"
        "  call *%rax\n"
        "  movq %rcx, 0(%rbx)\n"
        "  movq %rdx, 8(%rbx)\n"
        "  movq %rsi, 16(%rbx)\n"
        "  movq %rdi, 24(%rbx)\n"
        "  movq %r8, 32(%rbx)\n"
        "  movq %r9, 40(%rbx)\n"
        "  popq %rbx\n"
        "  ret\n"
        ".size call_captured3, .-call_captured3\n");

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

/* The nonzero register values seen after the calls, masked, so that this log holds no
 * pointer the leak scan would follow. */
#define MASK 0x5a5a5a5a5a5a5a5aul
static unsigned long seen[300 * 6];
static size_t seen_count;

static void remember(const unsigned long *regs) {
    for (int i = 0; i < 6; i++)
        if (regs[i] != 0 && seen_count < sizeof seen / sizeof seen[0]) seen[seen_count++] = regs[i] ^ MASK;
}

/* How many remembered values lie inside [block, block + size). */
static int inside(const char *block, size_t size) {
    int count = 0;
    for (size_t k = 0; k < seen_count; k++) {
        unsigned long value = seen[k] ^ MASK;
        count += value >= (unsigned long)block && value < (unsigned long)block + size;
    }
    return count;
}

static const char *const checked[] = {"strlen", "strcmp", "memcpy", "memset", "strcpy", "usable"};

static int is_checked_call(const char *call) {
    for (size_t i = 0; i < sizeof checked / sizeof checked[0]; i++)
        if (!strcmp(call, checked[i])) return 1;
    return 0;
}

static size_t size_of(int i) { return 1 + (size_t)i * 7 % 2000; }

/* The checked calls' sizes: runs of ten blocks of one size (24 to 488 bytes), each block's
 * neighbours in the slots beside its own. */
static size_t group_size(int i) { return 24 + (size_t)(i / 10) * 16; }

static void *new_block(unsigned long size, unsigned long unused) {
    (void)unused;
    return malloc(size);
}

/* The checked libc calls and malloc_usable_size on the even blocks of 300: "dropped N"
 * counts the register values inside the odd ones and inside 300 blocks allocated after. */
static int checked_calls(const char *call) {
    char *blocks[300];
    unsigned long regs[6];
    for (int i = 0; i < 300; i++) {
        blocks[i] = malloc(group_size(i));
        if (!blocks[i]) return 2;
        memset(blocks[i], 'b', group_size(i) - 1);
        blocks[i][group_size(i) - 1] = 0;
    }
    for (int i = 2; i < 300; i += 2) {
        char *b = blocks[i];
        if (!strcmp(call, "strlen")) {
            call_captured((void *)strlen, (unsigned long)b, 0, regs);
        } else if (!strcmp(call, "strcmp")) {
            call_captured((void *)strcmp, (unsigned long)b, (unsigned long)blocks[0], regs);
        } else if (!strcmp(call, "memcpy")) {
            call_captured3((void *)memcpy, (unsigned long)b, (unsigned long)blocks[0], 1, regs);
        } else if (!strcmp(call, "memset")) {
            b[group_size(i) - 1] = 0;
            call_captured3((void *)memset, (unsigned long)b, 'c', group_size(i) - 1, regs);
        } else if (!strcmp(call, "strcpy")) {
            call_captured((void *)strcpy, (unsigned long)b, (unsigned long)blocks[0], regs);
        } else {
            call_captured((void *)malloc_usable_size, (unsigned long)b, 0, regs);
        }
        remember(regs);
    }
    char *later[300];
    int dropped = 0;
    for (int i = 0; i < 300; i++) later[i] = malloc(group_size(i));
    for (int i = 0; i < 300; i++) {
        if (i % 2) dropped += inside(blocks[i], group_size(i));
        dropped += inside(later[i], group_size(i));
    }
    for (int i = 0; i < 300; i++) {
        free(blocks[i]);
        free(later[i]);
    }
    printf("dropped %d\n", dropped);
    return dropped;
}

int main(int argc, char **argv) {
    const char *call = argc > 1 ? argv[1] : "malloc";
    if (is_checked_call(call)) {
        int dropped = checked_calls(call);
        puts(dropped ? "residue" : "clean");
        return 0;
    }
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
        } else if (!strcmp(call, "posix_memalign")) {
            block = NULL;
            if (call_captured3((void *)posix_memalign, (unsigned long)&block, 64, size, regs)) return 2;
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
        remember(regs);
    }
    /* The blocks the program drops: the odd ones, and 300 allocated after the calls. */
    void *later[300];
    int dropped = 0;
    for (int i = 0; i < 300; i++) later[i] = malloc(size_of(i));
    for (int i = 0; i < 300; i++) {
        if (i % 2) dropped += inside(blocks[i], size_of(i));
        dropped += inside(later[i], size_of(i));
    }
    printf("dropped %d\n", dropped);
    for (int i = 0; i < 300; i++) free(later[i]);
    for (int i = 0; i < 300; i++) free(blocks[i]);
    puts(residue ? "residue" : "clean");
    return 0;
}
