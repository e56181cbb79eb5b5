/* Leak roots: gpa's own state is no root. `allocate_holding` calls `malloc` while `rbp`, a
 * general register in code without frame pointers (built with -O2 -fomit-frame-pointer),
 * holds the only copy outside the heap of a block, and the unwinder's remembered walk keeps a
 * copy of `rbp` in gpa's thread-locals. The list is then dropped: its head is definitely lost
 * and the block behind it indirectly lost (Valgrind: 16 bytes in 1 blocks definitely lost,
 * 16 bytes in 1 blocks indirectly lost). Scanned, gpa's copy made the second still
 * reachable. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    struct node *next;
    long value;
};

__attribute__((noipa)) static void *allocate_holding(void *held) {
    register void *in_rbp asm("rbp") = held;
    asm volatile("" : "+r"(in_rbp));
    void *block = malloc(24);
    asm volatile("" : : "r"(in_rbp));
    return block;
}

__attribute__((noipa)) static struct node *make_list(void) {
    struct node *head = malloc(sizeof *head);
    struct node *tail = malloc(sizeof *tail);
    head->next = tail;
    head->value = 1;
    tail->next = NULL;
    tail->value = 2;
    for (int i = 0; i < 3; i++)
        free(allocate_holding(tail));
    return head;
}

int main(void) {
    struct node *head = make_list();
    int bad = head->value != 1 || head->next->value != 2;
    head = NULL;
    puts("done");
    return bad;
}
