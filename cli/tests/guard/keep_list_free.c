/* Guard mode keeps a freed block's contents: the classic list free, which reads each node's
 * link after freeing it. Natively glibc's tcache link is read (a SIGSEGV); under Valgrind
 * (and gpa's guard mode) each read is reported and returns the link, the loop frees every
 * node, and nothing leaks. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    struct node *next;
    int value;
};

int main(void) {
    struct node *head = NULL;
    for (int i = 0; i < 10; i++) {
        struct node *node = malloc(sizeof *node);
        node->value = i;
        node->next = head;
        head = node;
    }
    int sum = 0;
    for (struct node *p = head; p; p = p->next) {
        sum += p->value;
        free(p);
    }
    printf("sum %d\n", sum);
    return 0;
}
