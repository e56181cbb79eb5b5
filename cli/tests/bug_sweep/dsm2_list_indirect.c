/* https://github.com/N3i1/dsm2/issues/9
 * addHead(): the list is built but its head is dropped at exit: 8,032 (16 direct, 8,016
 * indirect) bytes in 1 blocks are definitely lost. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    struct node *next;
    long value;
};

static struct node *addHead(struct node *head, long value) {
    struct node *n = malloc(sizeof *n);
    n->next = head;
    n->value = value;
    return n;
}

int main(void) {
    struct node *head = NULL;
    for (long i = 0; i < 502; i++)
        head = addHead(head, i);
    printf("%ld\n", head->value);
    head = NULL; /* the bug: nothing frees the list */
    return 0;
}
