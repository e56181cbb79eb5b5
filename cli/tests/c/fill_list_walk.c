/* A linked list freed node by node while the walk reads each node's `next` after freeing it
 * (the classic `for (n = head; n; n = n->next) free(n);`). Natively and under Valgrind the
 * freed node still holds its link: Valgrind reports "Invalid read of size 8", 8 bytes inside
 * a freed block of size 24, and the walk ends normally. Under gpa's check mode the freed node
 * holds the fill, which the walk then follows. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    long value;
    struct node *next;
    long pad;
};

int main(void) {
    struct node *head = NULL;
    for (long i = 0; i < 4; i++) {
        struct node *n = malloc(sizeof *n);
        n->value = i;
        n->next = head;
        n->pad = 0;
        head = n;
    }
    long sum = 0;
    for (struct node *n = head; n; n = n->next) { /* the bug: n->next after free(n) */
        sum += n->value;
        free(n);
    }
    printf("sum %ld\n", sum);
    return 0;
}
