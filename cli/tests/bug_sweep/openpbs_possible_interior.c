/* https://github.com/openpbs/openpbs/pull/803
 * pbs_list_link: the list keeps pointers to a link member in the middle of each element
 * (append_link(&list, &p->link, p)); at exit only those interior pointers remain: Valgrind
 * calls the elements possibly lost. */
#include <stdio.h>
#include <stdlib.h>

struct link {
    struct link *next;
};

struct attr {
    char name[40];
    struct link link; /* at offset 40 */
    long value;
};

static struct link *list_head;

static void append_link(struct link *l) {
    l->next = list_head;
    list_head = l;
}

int main(void) {
    for (int i = 0; i < 3; i++) {
        struct attr *p = malloc(sizeof *p);
        p->value = i;
        append_link(&p->link);
    }
    printf("%d\n", list_head != NULL);
    return 0;
}
