/* Planted bug: 10 blocks of 24 bytes leaked from one site (grouped into one finding). */
#include <stdlib.h>
#include <stdio.h>

struct node { struct node *next; long value; long pad; };

__attribute__((noinline)) static struct node *grow_list(struct node *head, long value) {
    struct node *node = malloc(sizeof *node);
    node->next = head;
    node->value = value;
    return node;
}

int main(void) {
    struct node *head = NULL;
    for (long i = 0; i < 10; i++) head = grow_list(head, i);
    long sum = 0;
    for (struct node *n = head; n; n = n->next) sum += n->value;
    printf("sum %ld, leak many done\n", sum);
    head = NULL; /* the whole list is lost */
    return 0;
}
