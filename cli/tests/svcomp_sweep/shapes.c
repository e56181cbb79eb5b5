/* SV-COMP's memory-safety programs (sosy-lab/sv-benchmarks, c/memsafety*, c/forester-heap,
 * c/list-ext*-properties, c/heap-data, c/ldv-memsafety, c/array-memsafety): the shapes of
 * their lists, trees and skip lists, left behind whole or in part, and their bad frees, reduced
 * to a program of our own. The argument names the variant; each names its upstream file(s). */
#include <alloca.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dll { struct dll *next, *prev; long data; };
struct sll { struct sll *next; int data; };
struct tree { struct tree *left, *right, *parent; char pad[8]; };
struct link { struct link *next, *prev; };
struct item { long value; struct link linkage; };
struct skip { struct skip *n1, *n2, *n3; };

static void *root;          /* the one global a variant leaves its structure at */
static struct link *anchor; /* an interior pointer into an item */
static int **cell;          /* atexit_refree's holder */

static void release_holder(void)
{
    free(cell);
}

static void release_cell(void)
{
    if (cell)
        free(*cell);
}

static struct dll *dll_build(int n)
{
    struct dll *head = NULL;
    for (int i = 0; i < n; i++) {
        struct dll *node = malloc(sizeof *node);
        node->next = head;
        node->prev = NULL;
        node->data = i;
        if (head)
            head->prev = node;
        head = node;
    }
    return head;
}

static struct tree *tree_build(struct tree *parent, int depth)
{
    if (!depth)
        return NULL;
    struct tree *node = malloc(sizeof *node);
    node->parent = parent;
    node->left = tree_build(node, depth - 1);
    node->right = tree_build(node, depth - 1);
    return node;
}

static void clobber(void)
{
    /* Overwrites the stack below the caller's frame, where the builders left node
     * addresses, so that only what a variant keeps is found. */
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk);
}

int main(int argc, char **argv)
{
    const char *v = argc > 1 ? argv[1] : "";
    if (!strcmp(v, "dll_dropped")) {
        /* forester-heap/dll-circular-1.c, memsafety-ext/dll_extends_pointer.c: a doubly linked
         * list of 5 left behind whole (the head pointer dropped). */
        dll_build(5);
    } else if (!strcmp(v, "dll_half_freed")) {
        /* memsafety-ext/dll_extends_pointer.c's teardown stopped half way: the first 3 nodes
         * of 6 freed, the rest left behind (the 4th keeps a stale prev). */
        struct dll *list = dll_build(6);
        for (int i = 0; i < 3; i++) {
            struct dll *next = list->next;
            free(list);
            list = next;
        }
        list = NULL;
    } else if (!strcmp(v, "csll_interior")) {
        /* memsafety-ext/tree_of_cslls.c's circular lists: a circular list of 4 kept only by
         * a pointer into its first node's data field. */
        struct sll *first = malloc(sizeof *first), *last = first;
        for (int i = 0; i < 3; i++) {
            struct sll *node = malloc(sizeof *node);
            node->next = first;
            last->next = node;
            last = node;
        }
        root = &first->data;
    } else if (!strcmp(v, "list_head")) {
        /* memsafety/test-0137.c (the Linux list_head): a circular list of 3 items kept by a
         * global pointing at the first item's linkage (8 bytes in), each item linked by
         * pointers to the next item's linkage. */
        struct item *items[3];
        for (int i = 0; i < 3; i++)
            items[i] = malloc(sizeof *items[i]);
        for (int i = 0; i < 3; i++) {
            items[i]->linkage.next = &items[(i + 1) % 3]->linkage;
            items[i]->linkage.prev = &items[(i + 2) % 3]->linkage;
        }
        anchor = &items[0]->linkage;
    } else if (!strcmp(v, "tree_dropped")) {
        /* memsafety-ext/tree_parent_ptr.c: a tree of depth 3 (7 nodes with parent pointers)
         * left behind from its root. */
        tree_build(NULL, 3);
    } else if (!strcmp(v, "tree_subtree")) {
        /* memsafety-ext/tree_parent_ptr.c's teardown stopped after the root: its two subtrees
         * left behind (their parent pointers name the freed root). */
        struct tree *t = tree_build(NULL, 3);
        free(t);
    } else if (!strcmp(v, "tagged")) {
        /* memsafety/lockfree-3.1.c's stack with the mark bit of lock-free lists: a list of 3
         * whose links carry a tag in their low bit, kept by a tagged global. */
        struct sll *a = malloc(sizeof *a), *b = malloc(sizeof *b), *c = malloc(sizeof *c);
        a->next = (struct sll *)((uintptr_t)b | 1);
        b->next = (struct sll *)((uintptr_t)c | 1);
        c->next = NULL;
        root = (void *)((uintptr_t)a | 1);
    } else if (!strcmp(v, "skiplist")) {
        /* memsafety-ext/skiplist_2lvl.c with a third level: a skip list of head, 4 nodes and
         * tail; the list's header freed without its nodes. */
        struct skip *nodes[6];
        for (int i = 0; i < 6; i++)
            nodes[i] = calloc(1, sizeof *nodes[i]);
        for (int i = 0; i < 5; i++)
            nodes[i]->n1 = nodes[i + 1];
        nodes[0]->n2 = nodes[2];
        nodes[2]->n2 = nodes[5];
        nodes[0]->n3 = nodes[5];
        struct skip **header = malloc(2 * sizeof *header);
        header[0] = nodes[0];
        header[1] = nodes[5];
        memset(nodes, 0, sizeof nodes);
        free(header);
    } else if (!strcmp(v, "realloc_array")) {
        /* memsafety/test-0232-1.c's items kept in a growing array: an array of 4 node
         * pointers grown by realloc to 8, then dropped with its nodes. */
        struct sll **array = malloc(4 * sizeof *array);
        for (int i = 0; i < 4; i++) {
            array[i] = malloc(sizeof **array);
            array[i]->next = NULL;
        }
        array = realloc(array, 8 * sizeof *array);
        for (int i = 4; i < 8; i++)
            array[i] = NULL;
        array = NULL;
    } else if (!strcmp(v, "shared_data")) {
        /* memsafety/test-0232-1.c: every item of a list of 3 shares one data block; the
         * items freed, the data not. */
        struct dll *data = malloc(sizeof *data);
        struct sll *list = NULL;
        for (int i = 0; i < 3; i++) {
            struct sll *item = malloc(sizeof *item);
            item->next = list;
            item->data = (int)(intptr_t)data;
            list = item;
        }
        while (list) {
            struct sll *next = list->next;
            free(list);
            list = next;
        }
        data = NULL;
    } else if (!strcmp(v, "uaf_data")) {
        /* memsafety/test-0235-1.c's destroy loops done wrong: each node of a list of 3 freed,
         * then its data read (the value not used). */
        struct sll *list = NULL;
        for (int i = 0; i < 3; i++) {
            struct sll *node = malloc(sizeof *node);
            node->next = list;
            node->data = i;
            list = node;
        }
        volatile int sink = 0;
        while (list) {
            struct sll *next = list->next;
            free(list);
            sink += list->data;
            list = next;
        }
    } else if (!strcmp(v, "end_pointer")) {
        /* memsafety/960521-1-1.c's advanced pointer taken to the end: an array of 8 ints kept
         * only by a pointer one past its end. */
        int *a = malloc(8 * sizeof *a);
        root = a + 8;
    } else if (!strcmp(v, "list_head_dropped")) {
        /* memsafety/test-0137.c with its global list gone: a circular list of 3 items linked
         * only by pointers into each other's linkage, no pointer from outside. */
        struct item *items[3];
        for (int i = 0; i < 3; i++)
            items[i] = malloc(sizeof *items[i]);
        for (int i = 0; i < 3; i++) {
            items[i]->value = i;
            items[i]->linkage.next = &items[(i + 1) % 3]->linkage;
            items[i]->linkage.prev = &items[(i + 2) % 3]->linkage;
        }
        memset(items, 0, sizeof items);
    } else if (!strcmp(v, "possible_chain")) {
        /* memsafety-ext/dll_extends_pointer.c: a list of 3 kept by a pointer into its first
         * node's embedded data, the rest linked by start pointers. */
        struct dll *a = dll_build(3);
        root = &a->data;
    } else if (!strcmp(v, "packed")) {
        /* memsafety/test-0158-*.c's union: a pointer kept only at an unaligned offset of a
         * global (a packed struct), and one at an aligned offset. */
        static struct __attribute__((packed)) { char c[3]; void *p; } odd;
        static struct { char c[3]; void *p; } even;
        odd.p = malloc(40);
        even.p = malloc(48);
    } else if (!strcmp(v, "length64")) {
        /* our own, beside packed: a counted buffer (a length word, then the bytes) kept by a
         * pointer to its bytes (memcheck's length64 heuristic). */
        size_t *buf = malloc(8 + 56);
        buf[0] = 56;
        root = buf + 1;
    } else if (!strcmp(v, "freed_holder")) {
        /* memsafety/test-0019-1.c's holder freed first: the only pointer to a node left in a
         * freed holder block. */
        struct sll **holder = malloc(sizeof *holder);
        *holder = malloc(sizeof **holder);
        free(holder);
    } else if (!strcmp(v, "double_free")) {
        /* memsafety/global-atexit-1.c's second free, in main: the second node of a list of 2
         * freed again by a destroy routine. */
        struct sll *a = malloc(sizeof *a), *b = malloc(sizeof *b);
        a->next = b;
        b->next = NULL;
        free(b);
        struct sll *next = a->next;
        free(a);
        free(next);
    } else if (!strcmp(v, "atexit_refree")) {
        /* memsafety/global-atexit-1.c: exit handlers that free a holder and the cell it
         * points to, both already freed by main; the cell's handler reads the pointer from
         * the freed holder. */
        cell = malloc(sizeof *cell);
        atexit(release_holder);
        *cell = malloc(sizeof **cell);
        atexit(release_cell);
        free(*cell);
        free(cell);
    } else if (!strcmp(v, "alloca_free")) {
        /* our own, beside memsafety/960521-1-1.c: a node on the stack (alloca) freed. */
        struct sll *node = alloca(sizeof *node);
        node->next = NULL;
        free(node);
    } else if (!strcmp(v, "interior_free")) {
        /* memsafety/960521-1-1.c: free of a pointer advanced into its array. */
        int *b = malloc(64 * sizeof *b);
        b++;
        free(b);
        b = NULL;
    } else if (!strcmp(v, "main_local")) {
        /* heap-data/min_max.c and calendar.c, list-ext2-properties/simple_search_value-1.c
         * and list_and_tree_cnstr-1.c: a list of 4 kept only by main's local when main
         * returns (a frame that returned is no root). */
        struct sll *list = NULL;
        for (int i = 0; i < 4; i++) {
            struct sll *node = malloc(sizeof *node);
            node->next = list;
            list = node;
        }
    } else if (!strcmp(v, "abort_held")) {
        /* forester-heap/dll-sorted-1.c, dll-optional-2.c, sll-buckets-2.c and
         * list-ext-properties/list-ext.c: a failed assertion (reach_error(), then abort())
         * while main still holds a list of 3 (the frame of a function that has not returned
         * is a root). */
        struct dll *list = dll_build(3);
        if (list->data != 7)
            abort();
    } else if (!strcmp(v, "wild_free")) {
        /* ldv-memsafety/memleaks_test3_false-valid-free.c: free of a pointer made from a small
         * integer (a nondet value). */
        free((void *)(uintptr_t)0x27);
    } else if (!strcmp(v, "freed_compare")) {
        /* memsafety/cmp-freed-ptr.c: a block freed, a block of the same size allocated and
         * freed twice if it has the freed block's address. */
        struct sll *y = malloc(sizeof *y);
        free(y);
        struct sll *x = malloc(sizeof *x);
        if (x == y)
            free(x);
        free(x);
    } else if (!strcmp(v, "string_step")) {
        /* array-memsafety/cstrlen_unsafe.c: a string's length counted two bytes at a time,
         * which steps over the terminator of 15 characters in a 16-byte block and reads the
         * byte after it (once: the count stops at 17). */
        char *s = malloc(16);
        memset(s, 'x', 15);
        s[15] = '\0';
        volatile int n = 0;
        for (int i = 0; i < 17 && s[i]; i += 2)
            n++;
        free(s);
    } else if (!strcmp(v, "low_half")) {
        /* ldv-memsafety/memleaks_test21_false-valid-memtrack.c (its `void main` returns the
         * interior pointer's low half as the exit status): a 32-byte block kept only as the low
         * 32 bits of its address, in a global word whose high half is zero. */
        static union { uint64_t word; uint32_t half[2]; } held;
        char *p = malloc(32);
        held.half[0] = (uint32_t)(uintptr_t)p;
        p = NULL;
    } else if (!strcmp(v, "crash_register")) {
        /* array-memsafety/cstrchr_unsafe.c at -O2, where the string's only pointer is in a
         * register when the null pointer's dereference ends the program (SIGSEGV): a 24-byte
         * block held only by the register of a store to address 0. */
        __asm__ volatile("movl $1, 0" : : "r"(malloc(24)) : "memory");
    } else {
        fprintf(stderr, "unknown variant %s\n", v);
        return 2;
    }
    clobber();
    puts("done");
    return 0;
}
